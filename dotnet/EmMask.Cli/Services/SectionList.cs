using System.Globalization;

namespace EmMask.Cli.Services;

/// <summary>The sections of <c>--sections</c>: z indices (0-based, as napari shows them) and ranges, e.g. <c>3,5-7</c>.</summary>
public static class SectionList
{
    /// <summary>The most sections one list may name (a guard against a mistyped range).</summary>
    public const int MaximumCount = 100_000;

    /// <summary>The listed sections, ascending and each once.</summary>
    /// <exception cref="ArgumentException">The text is not a list of indices and ascending ranges.</exception>
    public static IReadOnlyList<int> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sections = new SortedSet<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string[] ends = part.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                throw new ArgumentException($"--sections {text}: '{part}' is not a section index or a range; give z indices from 0, e.g. 3,5-7.");
            }

            int first = int.Parse(ends[0], CultureInfo.InvariantCulture), last = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (last < first)
            {
                throw new ArgumentException($"--sections {text}: the range {part} runs backwards; write {last}-{first}.");
            }

            if (last - first >= MaximumCount || sections.Count + (last - first) >= MaximumCount)
            {
                throw new ArgumentException($"--sections {text}: more than {MaximumCount} sections; mask the whole volume instead.");
            }

            for (int z = first; z <= last; z++)
            {
                sections.Add(z);
            }
        }

        return [.. sections];
    }

    /// <summary>The sections as text, ranges joined (<c>3,5-7</c>, as <see cref="Parse"/> reads it), for messages and attributes.</summary>
    public static string Format(IReadOnlyList<int> sections)
    {
        ArgumentNullException.ThrowIfNull(sections);
        var parts = new List<string>();
        for (int i = 0; i < sections.Count;)
        {
            int j = i;
            while (j + 1 < sections.Count && sections[j + 1] == sections[j] + 1)
            {
                j++;
            }

            parts.Add(j == i ? sections[i].ToString(CultureInfo.InvariantCulture) : $"{sections[i]}-{sections[j]}");
            i = j + 1;
        }

        return string.Join(",", parts);
    }
}
