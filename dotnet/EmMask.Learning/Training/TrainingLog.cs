using System.Text.Json;
using System.Text.Json.Serialization;

namespace EmMask.Learning.Training;

/// <summary>One validation-time row of training_log.json.</summary>
public sealed record TrainingLogEntry(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("mean_loss")] double MeanLoss,
    [property: JsonPropertyName("val_dice")] double? ValidationDice,
    [property: JsonPropertyName("val_dice_per_volume")] IReadOnlyDictionary<string, double>? PerVolume,
    [property: JsonPropertyName("steps_per_second")] double StepsPerSecond,
    [property: JsonPropertyName("elapsed_s")] double ElapsedSeconds,
    [property: JsonPropertyName("best")] bool Best);

/// <summary>Resume state saved beside last.safetensors.</summary>
internal sealed record TrainingState(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("rng")] ulong[] Rng,
    [property: JsonPropertyName("best_dice")] double BestDice,
    [property: JsonPropertyName("best_step")] int BestStep,
    [property: JsonPropertyName("elapsed_s")] double ElapsedSeconds,
    [property: JsonPropertyName("log")] List<TrainingLogEntry> Log)
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Save(string path)
    {
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(this, Json));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static TrainingState Load(string path) =>
        JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path), Json)
        ?? throw new InvalidDataException($"Empty training state '{path}'.");
}
