using System.Security.Cryptography;
using System.Text;

namespace NanoLlm.Server;

/// <summary>
/// The key clients must send as <c>Authorization: Bearer KEY</c>. Compared in constant time: both sides are hashed to
/// SHA-256 first, so neither the key's length nor the position of a first wrong character shows in the timing.
/// </summary>
public sealed class ApiKey(string key)
{
    public const string EnvironmentVariable = "NANOLLM_API_KEY";

    private readonly byte[] _hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public bool Matches(string? authorization)
    {
        const string scheme = "Bearer ";
        var given = authorization is not null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[scheme.Length..].Trim()
            : string.Empty;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), _hash);
    }
}
