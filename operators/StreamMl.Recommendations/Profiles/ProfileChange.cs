namespace StreamMl.Recommendations.Profiles;

/// <summary>What an event did to a user's profile.</summary>
internal enum ProfileChange : byte
{
    /// <summary>The item is new to the profile.</summary>
    NewItem,
    /// <summary>The item was already in the profile; its weight and count grew.</summary>
    Repeat,
    /// <summary>The profile already holds the item at this exact event time: a redelivered event, ignored.</summary>
    Duplicate,
}
