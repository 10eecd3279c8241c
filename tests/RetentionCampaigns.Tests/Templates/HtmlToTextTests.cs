using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Tests.Templates;

public sealed class HtmlToTextTests
{
    [Fact]
    public void KeepsParagraphsLinksAndListsAndDropsMarkup()
    {
        const string html = """
            <html><head><title>T</title><style>p { color: red }</style></head><body>
            <!-- hidden -->
            <p>Hallo&nbsp;Anna,</p>
            <p>Ihr   Gutschein:<br><b>SAVE&amp;MORE</b></p>
            <ul><li>Eins</li><li>Zwei</li></ul>
            <a href="https://shop.example/a?x=1&amp;y=2" style="color:red">Zum Shop</a>
            <a href="https://shop.example/b">https://shop.example/b</a>
            <script>alert(1)</script>
            </body></html>
            """;
        Assert.Equal("""
            Hallo Anna,

            Ihr Gutschein:
            SAVE&MORE

            - Eins
            - Zwei

            Zum Shop (https://shop.example/a?x=1&y=2) https://shop.example/b

            """.Replace("\r\n", "\n"), HtmlToText.Convert(html));
    }
}
