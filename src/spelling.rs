//! "Did you mean" for misspelt names: rule ids, config keys, fields.

/// The candidate closest to `word`, for "did you mean": a candidate that
/// starts with it (the shortest), else the nearest by edit distance if close.
pub fn nearest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    if lower.len() >= 4
        && let Some(prefixed) = candidates
            .clone()
            .filter(|c| c.to_lowercase().starts_with(&lower))
            .min_by_key(|c| c.len())
    {
        return Some(prefixed);
    }
    candidates
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}
