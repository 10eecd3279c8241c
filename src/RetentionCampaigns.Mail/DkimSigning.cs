using System.Security.Cryptography;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;

namespace RetentionCampaigns.Mail;

/// <summary>DKIM signing (section <c>Mail:Dkim</c>); off unless a domain, selector and key file are set. Most relays sign for you.</summary>
public sealed record DkimOptions
{
    /// <summary>The signing domain (d=), usually the From address's domain.</summary>
    public string? Domain { get; set; }
    /// <summary>The selector (s=): the key is published at &lt;selector&gt;._domainkey.&lt;domain&gt;.</summary>
    public string? Selector { get; set; }
    /// <summary>A PEM private key: RSA (PKCS#1 or PKCS#8) or, with <see cref="Algorithm"/> ed25519-sha256, Ed25519 (PKCS#8).</summary>
    public string? KeyFile { get; set; }
    /// <summary><c>rsa-sha256</c> (default) or <c>ed25519-sha256</c> (RFC 8463; receivers that do not know it ignore it).</summary>
    public string Algorithm { get; set; } = "rsa-sha256";

    [System.Text.Json.Serialization.JsonIgnore] // derived, not a setting
    public bool Enabled => !string.IsNullOrWhiteSpace(Domain) || !string.IsNullOrWhiteSpace(Selector) || !string.IsNullOrWhiteSpace(KeyFile);
}

/// <summary>
/// Signs messages with DKIM (RFC 6376), relaxed/relaxed, over the headers every campaign mail carries. RSA goes
/// through .NET's own crypto (about ten times faster per message than MimeKit's default BouncyCastle RSA);
/// Ed25519, which .NET lacks, through BouncyCastle.
/// </summary>
public sealed class DkimSigning
{
    /// <summary>The headers signed; one that a message lacks is signed as absent, so nobody can add it later.</summary>
    public static readonly string[] SignedHeaders =
    [
        "From", "To", "Subject", "Date", "Message-ID", "Reply-To", "MIME-Version", "Content-Type",
        "List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID",
    ];

    readonly DkimSigner signer;

    DkimSigning(DkimSigner signer) => this.signer = signer;

    /// <summary>What is wrong with the settings, in words to fix them by; null when they can be loaded.</summary>
    public static string? ConfigurationProblem(DkimOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Domain) || string.IsNullOrWhiteSpace(options.Selector) || string.IsNullOrWhiteSpace(options.KeyFile))
            return "DKIM needs Mail:Dkim:Domain, Mail:Dkim:Selector and Mail:Dkim:KeyFile together.";
        if (!File.Exists(options.KeyFile)) return $"The DKIM key file {options.KeyFile} does not exist.";
        if (options.Algorithm.ToLowerInvariant() is not ("rsa-sha256" or "ed25519-sha256"))
            return $"Mail:Dkim:Algorithm '{options.Algorithm}' is not rsa-sha256 or ed25519-sha256.";
        return null;
    }

    /// <summary>Loads the key; a configuration mistake is an error at start, with what to fix.</summary>
    public static DkimSigning Load(DkimOptions options)
    {
        if (ConfigurationProblem(options) is { } problem) throw new InvalidOperationException(problem);
        DkimSigner signer = options.Algorithm.ToLowerInvariant() == "rsa-sha256"
            ? new DotNetRsaSigner(File.ReadAllText(options.KeyFile!), options.Domain!, options.Selector!)
            : new DkimSigner(options.KeyFile!, options.Domain!, options.Selector!, DkimSignatureAlgorithm.Ed25519Sha256);
        signer.HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
        signer.BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
        return new DkimSigning(signer);
    }

    public void Sign(MimeMessage message) => signer.Sign(message, SignedHeaders);

    /// <summary>MimeKit's signer with the signature made by .NET's RSA (one key object per thread: they are not shared safely).</summary>
    sealed class DotNetRsaSigner : DkimSigner
    {
        readonly ThreadLocal<RSA> rsa;

        // MimeKit's base class wants the key in BouncyCastle's form; it is used only by the signing context overridden below.
        public DotNetRsaSigner(string pem, string domain, string selector)
            : base(DotNetUtilities.GetRsaKeyPair(CheckedKey(pem)).Private, domain, selector, DkimSignatureAlgorithm.RsaSha256)
        {
            rsa = new ThreadLocal<RSA>(() =>
            {
                var key = RSA.Create();
                key.ImportFromPem(pem);
                return key;
            });
        }

        static RSAParameters CheckedKey(string pem)
        {
            using var check = RSA.Create();
            try { check.ImportFromPem(pem); }
            catch (ArgumentException e) { throw new InvalidOperationException($"The DKIM key file holds no RSA private key in PEM form: {e.Message}", e); }
            if (check.KeySize < 1024) throw new InvalidOperationException($"The DKIM key has {check.KeySize} bits; receivers ignore keys under 1024 (use 2048).");
            return check.ExportParameters(includePrivateParameters: true);
        }

        protected override ISigner CreateSigningContext() => new Sha256RsaSigner(rsa.Value!);
    }

    /// <summary>BouncyCastle's signer interface, as MimeKit calls it, over .NET's SHA-256 and RSA (PKCS#1 v1.5, as DKIM asks).</summary>
    sealed class Sha256RsaSigner(RSA rsa) : ISigner
    {
        readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string AlgorithmName => "SHA-256withRSA";
        public void Init(bool forSigning, ICipherParameters parameters) { }
        public void Update(byte input) => hash.AppendData([input]);
        public void BlockUpdate(byte[] input, int inOff, int inLen) => hash.AppendData(input, inOff, inLen);
        public void BlockUpdate(ReadOnlySpan<byte> input) => hash.AppendData(input);
        public int GetMaxSignatureSize() => rsa.KeySize / 8;
        public byte[] GenerateSignature() => rsa.SignHash(hash.GetHashAndReset(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        public bool VerifySignature(byte[] signature) => throw new NotSupportedException("Used for signing only.");
        public void Reset() => hash.GetHashAndReset();
    }
}
