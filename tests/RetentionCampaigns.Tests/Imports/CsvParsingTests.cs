using RetentionCampaigns.Imports;

namespace RetentionCampaigns.Tests.Imports;

public sealed class CsvParsingTests
{
    [Theory]
    [InlineData("12.50", 12.50)]
    [InlineData("12,50", 12.50)]
    [InlineData("1.234,56", 1234.56)]
    [InlineData("1,234.56", 1234.56)]
    [InlineData("1.234.567,8", 1234567.8)]
    [InlineData("0", 0)]
    [InlineData(" 7 € ", 7)]
    public void AmountsInEitherNotationParse(string text, decimal expected)
    {
        Assert.True(CsvValues.TryParseAmount(text, out var amount));
        Assert.Equal(expected, amount);
    }

    [Theory]
    [InlineData("12,5,0")]
    [InlineData("1.23,4.5")]
    [InlineData("12,34.56.7")]
    [InlineData("1,23.45")]
    [InlineData("abc")]
    [InlineData("")]
    public void AmbiguousOrBrokenAmountsAreRefused(string text) => Assert.False(CsvValues.TryParseAmount(text, out _));

    [Fact]
    public void TimesWithoutOffsetAreReadInTheShopZone()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        Assert.True(CsvValues.TryParseTime("01.02.2025 10:00", berlin, out var winter));
        Assert.Equal(new DateTime(2025, 2, 1, 9, 0, 0), winter);
        Assert.True(CsvValues.TryParseTime("2025-07-01", berlin, out var summer));
        Assert.Equal(new DateTime(2025, 6, 30, 22, 0, 0), summer);
        Assert.True(CsvValues.TryParseTime("2025-07-01T10:00:00+02:00", berlin, out var offset));
        Assert.Equal(new DateTime(2025, 7, 1, 8, 0, 0), offset);
        Assert.False(CsvValues.TryParseTime("31.02.2025", berlin, out _));
        Assert.False(CsvValues.TryParseTime("next tuesday", berlin, out _));
    }

    [Fact]
    public void QuotedFieldsMayHoldDelimitersQuotesAndLineBreaks()
    {
        var reader = new CsvReader(new StringReader("a;b\r\n\"x;1\";\"say \"\"hi\"\"\"\n\n\"multi\nline\";z\nbad\"quote;q\n\"open"), ';');
        var records = new List<(long Line, string[] Fields, string? Malformed)>();
        while (reader.Read()) records.Add((reader.Line, reader.Record.ToArray(), reader.Malformed));
        Assert.Equal(5, records.Count);
        Assert.Equal(["x;1", "say \"hi\""], records[1].Fields);
        Assert.Equal(4, records[2].Line);
        Assert.Equal(["multi\nline", "z"], records[2].Fields);
        Assert.Equal(6, records[3].Line);
        Assert.NotNull(records[3].Malformed);
        Assert.NotNull(records[4].Malformed);
        Assert.Null(records[1].Malformed);
    }
}
