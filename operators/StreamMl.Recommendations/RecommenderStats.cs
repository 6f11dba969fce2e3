namespace StreamMl.Recommendations;

/// <summary>Counters of what a recommender did with the events it was given.</summary>
/// <param name="Events">Events received.</param>
/// <param name="Applied">Events that changed profiles or models.</param>
/// <param name="Duplicates">Events dropped because the user's profile already holds the item at that exact event time.</param>
/// <param name="Late">Events dropped because they were older than the newest event minus <see cref="RecommenderOptions.MaxLateness"/>.</param>
/// <param name="RejectedItems">Events dropped because the catalogue was full (<see cref="RecommenderOptions.MaxItems"/>).</param>
/// <param name="Users">Users with a profile.</param>
/// <param name="Items">Items in the catalogue.</param>
public readonly record struct RecommenderStats(long Events, long Applied, long Duplicates, long Late, long RejectedItems, int Users, int Items);
