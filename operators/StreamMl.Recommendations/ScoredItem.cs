namespace StreamMl.Recommendations;

/// <summary>A recommended item and its score (higher is better; the scale depends on the model).</summary>
/// <param name="Item">The item's id.</param>
/// <param name="Score">The model's score plus any boost from the request.</param>
public readonly record struct ScoredItem(long Item, float Score);
