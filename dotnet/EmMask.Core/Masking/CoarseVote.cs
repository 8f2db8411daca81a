using EmMask.Core.Volumes;

namespace EmMask.Core.Masking;

/// <summary>
/// The whole volume's pooled vote at the working level (a two-scale block-wise run), and the resin rule's weight there
/// (null where the rule does not apply), which the boundary refinement of each full-resolution block reads.
/// </summary>
/// <param name="Pooled">The pooled vote (confidence at the working level).</param>
/// <param name="ResinWeight">The resin rule's weight w at the working level, or null.</param>
/// <param name="ResinLike">A volume of one section whose resin is known (<see cref="KnownResin"/>): 1 where the working
/// level lies at the resin's intensity (<see cref="ResinRule.AtResinIntensity"/>), for the global filling of unmarked
/// border regions; else null.</param>
public sealed record CoarseVote(Volume<float> Pooled, Volume<float>? ResinWeight, Volume<float>? ResinLike = null);
