namespace StreamMl.Recommendations.Profiles;

/// <summary>Every user's <see cref="UserProfile"/>, by id, in order of first appearance.</summary>
internal sealed class UserProfiles
{
    private readonly Dictionary<long, UserProfile> _byId = [];
    private readonly List<UserProfile> _all = [];

    public int Count => _all.Count;

    public IReadOnlyList<UserProfile> All => _all;

    public UserProfile GetOrAdd(long id)
    {
        if (_byId.TryGetValue(id, out var profile)) return profile;
        profile = new UserProfile(id);
        _byId.Add(id, profile);
        _all.Add(profile);
        return profile;
    }

    public UserProfile? Find(long id) => _byId.GetValueOrDefault(id);

    public void Write(BinaryWriter writer)
    {
        writer.Write(_all.Count);
        foreach (var profile in _all) profile.Write(writer);
    }

    public static UserProfiles Read(BinaryReader reader, int capacity, int items)
    {
        var users = new UserProfiles();
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var profile = UserProfile.Read(reader, capacity, items);
            users._byId.Add(profile.Id, profile);
            users._all.Add(profile);
        }
        return users;
    }
}
