using EmMask.Core.Filters;
using EmMask.Core.Volumes;
using static EmMask.Core.Tests.Filters.FilterTestData;

namespace EmMask.Core.Tests.Filters;

public class UniformFilterTests
{
    public static TheoryData<int> Lengths()
    {
        var data = new TheoryData<int>();
        for (int n = 1; n <= 40; n++)
        {
            data.Add(n);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MatchesTheDoubleReferenceForEveryAxisLength(int n)
    {
        var size = (n % 6) + 1;
        var sizes = (size, 7 - size, 4);
        foreach (var shape in new[] { new Shape3(n, 6, 5), new Shape3(9, n, 7), new Shape3(3, 4, n) })
        {
            var source = Random(shape, n, 80f, -20f);
            var actual = source.Like<float>();
            UniformFilter.Apply(source, actual, sizes);
            AssertClose(ReferenceUniform(source, sizes), actual);
        }
    }

    [Theory]
    [InlineData(64, 2)]
    [InlineData(65, 5)]
    [InlineData(67, 6)]
    [InlineData(100, 3)]
    [InlineData(131, 9)]
    public void LongRowsSplitIntoQuartersMatchTheReference(int n, int size)
    {
        var shape = new Shape3(2, 3, n);
        var source = Random(shape, n, 80f, -20f);
        var actual = source.Like<float>();
        UniformFilter.Apply(source, actual, (2, 3, size));
        AssertClose(ReferenceUniform(source, (2, 3, size)), actual);
    }

    [Fact]
    public void ConstantStaysConstantAndSizeOneIsIdentity()
    {
        var volume = new Volume<float>(new Shape3(9, 10, 45));
        volume.Span.Fill(-3.5f);
        UniformFilter.Apply(volume, volume, (4, 5, 6));
        Assert.All(volume.Span.ToArray(), v => Assert.Equal(-3.5f, v));

        var source = Random(new Shape3(3, 4, 5), 1);
        var copy = source.Like<float>();
        UniformFilter.Apply(source, copy, (1, 1, 1));
        AssertIdentical(source, copy);
    }

    [Fact]
    public void ResultDoesNotDependOnThreadCount()
    {
        var source = Random(new Shape3(21, 30, 37), 4);
        var serial = source.Like<float>();
        using (ParallelLines.LimitDegree(1))
        {
            UniformFilter.Apply(source, serial, (3, 4, 5));
        }

        var parallel = source.Like<float>();
        using (ParallelLines.LimitDegree(4))
        {
            UniformFilter.Apply(source, parallel, (3, 4, 5));
        }

        AssertIdentical(serial, parallel);
    }

    [Fact]
    public void BadArgumentsNameTheParameter()
    {
        var a = new Volume<float>(new Shape3(2, 3, 4));
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => UniformFilter.Apply(a, a, (1, 0, 1))).ParamName);
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => UniformFilter.Apply(a, a, (-2, 1, 1))).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => UniformFilter.Apply(a, new Volume<float>(new Shape3(2, 3, 3)), (2, 2, 2))).ParamName);
    }
}
