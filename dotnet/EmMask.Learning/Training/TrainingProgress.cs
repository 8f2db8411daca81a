namespace EmMask.Learning.Training;

/// <summary>Reported after every optimiser step.</summary>
/// <param name="Step">Steps done (1-based, includes resumed steps).</param>
/// <param name="TotalSteps">Target number of steps.</param>
/// <param name="Loss">DiceCE loss of this step.</param>
/// <param name="StepsPerSecond">Throughput since this run (or resume) started.</param>
/// <param name="ValidationDice">Mean validation Dice when validation ran at this step, else null.</param>
/// <param name="BestValidationDice">Best mean validation Dice so far (NaN before the first validation).</param>
/// <param name="Elapsed">Wall time of this run.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double StepsPerSecond,
    double? ValidationDice, double BestValidationDice, TimeSpan Elapsed)
{
    /// <summary>Fraction done, 0..1.</summary>
    public double Fraction => TotalSteps == 0 ? 1 : (double)Step / TotalSteps;
}

/// <summary>Outcome of <see cref="UNetTrainer.Train"/>.</summary>
/// <param name="Steps">Steps done in total.</param>
/// <param name="BestValidationDice">Best mean validation Dice (NaN without validation volumes).</param>
/// <param name="BestStep">Step of the best checkpoint.</param>
/// <param name="BestModelPath">best.safetensors.</param>
/// <param name="LastModelPath">last.safetensors.</param>
/// <param name="LogPath">training_log.json.</param>
/// <param name="Elapsed">Wall time of this run.</param>
public sealed record TrainingResult(int Steps, double BestValidationDice, int BestStep, string BestModelPath,
    string LastModelPath, string LogPath, TimeSpan Elapsed);
