using StreamMl.Engine;
using StreamMl.Host.Auth;

namespace StreamMl.Host.Tests.Hosting;

/// <summary>Key configuration from STREAMML_API_KEYS: plain keys and SHA-256 hashes, and clear errors.</summary>
public sealed class ApiKeyStoreTests
{
    [Fact]
    public void Environment_entries_give_keys_by_role_and_accept_hashes()
    {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        const string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        var store = new ApiKeyStore(ApiKeyStore.ParseEnvironment($"admin:first-key; read:sha256={abc}"));
        Assert.Equal(2, store.Count);
        Assert.Equal(ApiRole.Admin, store.Find("first-key")?.Role);
        Assert.Equal(ApiRole.Read, store.Find("abc")?.Role);
        Assert.Null(store.Find("ab"));
    }

    [Theory]
    [InlineData("superuser:x", "entry 1 must look like admin:KEY")]
    [InlineData("admin:k;nokey", "entry 2 must look like")]
    public void Malformed_entries_say_which_and_how(string value, string message)
    {
        var ex = Assert.Throws<StreamMlException>(() => ApiKeyStore.ParseEnvironment(value).ToList());
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void A_hash_that_is_not_SHA256_hex_is_refused()
    {
        var ex = Assert.Throws<StreamMlException>(() => new ApiKeyStore([new ApiKeyOptions { Name = "bad", Hash = "abcd" }]));
        Assert.Contains("64 hex digits", ex.Message);
    }

    [Theory]
    [InlineData("read:fine;admin:", "STREAMML_API_KEYS entry 2 (admin): the key is empty; write admin:KEY or admin:sha256=HEX")]
    [InlineData("admin:sha256=", "STREAMML_API_KEYS entry 1 (admin): sha256= must be followed by the 64 hex digits of the key's SHA-256 (streamml serve --hash-key KEY prints them), got nothing")]
    [InlineData("score:sha256=xyz", "STREAMML_API_KEYS entry 1 (score): sha256= must be followed by the 64 hex digits of the key's SHA-256 (streamml serve --hash-key KEY prints them), got 3 character(s)")]
    [InlineData("1:key", "STREAMML_API_KEYS entry 1 must look like admin:KEY, score:KEY or read:sha256=HEX")]
    public void Keys_that_could_never_match_are_refused_when_read(string value, string message)
    {
        // Before: accepted here, and the host failed every call with UNKNOWN once it built its key store.
        var ex = Assert.Throws<StreamMlException>(() => ApiKeyStore.ParseEnvironment(value).ToList());
        Assert.Equal(message, ex.Message);
    }
}
