using System.Net.Security;
using System.Security.Cryptography;
using System.Text;

namespace RetentionCampaigns.Mail;

/// <summary>Certificate validation as usual, plus one certificate trusted by its SHA-256 fingerprint (a local server's self-signed one).</summary>
static class TrustedCertificates
{
    public static RemoteCertificateValidationCallback Validator(string? trustedSha256) => (_, certificate, _, errors) =>
    {
        if (errors == SslPolicyErrors.None) return true;
        if (certificate is null || string.IsNullOrWhiteSpace(trustedSha256)) return false;
        var fingerprint = Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData()));
        var trusted = trustedSha256.Replace(":", "").Replace(" ", "").ToUpperInvariant();
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(fingerprint), Encoding.ASCII.GetBytes(trusted));
    };
}
