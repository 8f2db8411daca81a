using EmMask.Learning.Inference;
using EmMask.Learning.Native;
using EmMask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// EMMASK_LIBTORCH: an installed PyTorch's libtorch instead of the NuGet one beside us, before anything touches TorchSharp
// (it may re-execute this process, keeping its pid and pipes). A refusal is kept and given as the error of each request.
Exception? libtorchError = null;
LibTorchFolder? libtorch = null;
try
{
    libtorch = InstalledLibTorch.ApplyFromEnvironment();
}
catch (LibTorchSelectionException e)
{
    libtorchError = e;
}

// stdout carries the JSON-lines protocol only: every other write (logging, stray Console.WriteLine, native
// libraries) goes to stderr, where the client keeps a tail for crash reports.
var protocolOut = ProtocolStreams.TakeStandardOutput();

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddSingleton(new ProtocolChannel(Console.OpenStandardInput(), protocolOut));
if (libtorchError is null)
{
    builder.Services.AddSingleton<IPredictorProvider, PredictorProvider>();
}
else
{
    builder.Services.AddSingleton<IPredictorProvider>(new UnavailablePredictorProvider(libtorchError));
}

builder.Services.AddSingleton<PredictionRunner>();
builder.Services.AddSingleton(services => new FineTuneRunner(services.GetRequiredService<ProtocolChannel>(), libtorchError));
builder.Services.AddHostedService<RequestLoopService>();

var app = builder.Build();
var startupLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmMask.Worker");
if (libtorchError is not null)
{
    startupLog.LogError("{Message}", libtorchError.Message);
}
else if (libtorch is not null)
{
    startupLog.LogInformation("{Description}{Warning}", InstalledLibTorch.Describe(libtorch), libtorch.Warning is { } w ? "; warning: " + w : string.Empty);
}

await app.RunAsync();
return 0;
