namespace EmMask.Learning.Tests.Native;

/// <summary>The classes that run a <see cref="ContinuousCollector"/> run alone (<see cref="ContinuousCollector.Collection"/>).</summary>
[CollectionDefinition(ContinuousCollector.Collection, DisableParallelization = true)]
public sealed class ContinuousCollectorCollection
{
}
