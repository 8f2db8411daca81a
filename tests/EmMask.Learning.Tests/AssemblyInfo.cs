// libtorch's random generator and thread settings are process-global: tests that seed it must not interleave with
// other tests creating or running modules, or "same seed, same losses" fails at random.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
