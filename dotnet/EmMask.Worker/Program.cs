using EmMask.Learning.Inference;
using EmMask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// stdout carries the JSON-lines protocol only: every other write (logging, stray Console.WriteLine, native
// libraries) goes to stderr, where the client keeps a tail for crash reports.
var protocolOut = ProtocolStreams.TakeStandardOutput();

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddSingleton(new ProtocolChannel(Console.OpenStandardInput(), protocolOut));
builder.Services.AddSingleton<IPredictorProvider, PredictorProvider>();
builder.Services.AddSingleton<PredictionRunner>();
builder.Services.AddHostedService<RequestLoopService>();

await builder.Build().RunAsync();
return 0;
