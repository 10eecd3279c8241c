using System.Buffers.Text;
using RetentionCampaigns.Links;

namespace RetentionCampaigns.Tests.Links;

public sealed class LinkTokensTests
{
    static readonly byte[] KeyOne = Enumerable.Repeat((byte)1, 32).ToArray(), KeyTwo = Enumerable.Repeat((byte)2, 32).ToArray();
    readonly ManualClock clock = new(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));

    LinkTokens Tokens(params (int Id, byte[] Key)[] keys) => new(keys.ToDictionary(k => k.Id, k => k.Key), clock);

    [Fact]
    public void ATokenVerifiesForItsPurposeAndCarriesItsClaims()
    {
        var tokens = Tokens((1, KeyOne));
        var token = tokens.Create(LinkPurpose.Click, 42, target: "https://shop.example/ä?x=1");
        Assert.True(tokens.TryVerify(token, LinkPurpose.Click, out var claims, out _));
        Assert.Equal(new LinkClaims(LinkPurpose.Click, 42, null, "https://shop.example/ä?x=1"), claims);
        Assert.DoesNotContain('+', token);
        Assert.DoesNotContain('/', token);
    }

    [Fact]
    public void AnotherPurposeAnAlteredByteOrAForeignKeyIsRefused()
    {
        var tokens = Tokens((1, KeyOne));
        var token = tokens.Create(LinkPurpose.Unsubscribe, 7);
        Assert.False(tokens.TryVerify(token, LinkPurpose.Preferences, out _, out var failure));
        Assert.Equal(TokenFailure.WrongPurpose, failure);

        var bytes = Base64Url.DecodeFromChars(token);
        for (var i = 0; i < bytes.Length; i++)
        {
            var altered = (byte[])bytes.Clone();
            altered[i] ^= 0x01;
            Assert.False(tokens.TryVerify(Base64Url.EncodeToString(altered), LinkPurpose.Unsubscribe, out _, out _), $"byte {i}");
        }
        Assert.False(Tokens((1, KeyTwo)).TryVerify(token, LinkPurpose.Unsubscribe, out _, out failure));
        Assert.Equal(TokenFailure.BadSignature, failure);
        Assert.False(tokens.TryVerify("not a token!", LinkPurpose.Unsubscribe, out _, out failure));
        Assert.Equal(TokenFailure.Malformed, failure);
        Assert.False(tokens.TryVerify("", LinkPurpose.Unsubscribe, out _, out _));
    }

    [Fact]
    public void AnExpiredTokenIsRefused()
    {
        var tokens = Tokens((1, KeyOne));
        var token = tokens.Create(LinkPurpose.Confirm, 7, clock.GetUtcNow().UtcDateTime.AddDays(7));
        Assert.True(tokens.TryVerify(token, LinkPurpose.Confirm, out _, out _));
        clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1));
        Assert.False(tokens.TryVerify(token, LinkPurpose.Confirm, out _, out var failure));
        Assert.Equal(TokenFailure.Expired, failure);
    }

    [Fact]
    public void AfterRotationTheNewKeySignsAndTheOldStillVerifies()
    {
        var old = Tokens((1, KeyOne)).Create(LinkPurpose.Unsubscribe, 5);
        var rotated = Tokens((1, KeyOne), (2, KeyTwo));
        Assert.True(rotated.TryVerify(old, LinkPurpose.Unsubscribe, out _, out _));
        var fresh = rotated.Create(LinkPurpose.Unsubscribe, 5);
        Assert.False(Tokens((1, KeyOne)).TryVerify(fresh, LinkPurpose.Unsubscribe, out _, out _));
        Assert.True(Tokens((2, KeyTwo)).TryVerify(fresh, LinkPurpose.Unsubscribe, out _, out _));
    }
}
