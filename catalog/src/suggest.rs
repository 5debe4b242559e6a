//! "Did you mean …?" for names typed by hand.

/// The candidate closest to `input`, if it is close enough to be a plausible typo: a few
/// edits away, else the one word of the two that begins the other (`dropped` for `drop`).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (input.chars().count() / 3).max(2);
    let mut by_prefix = None;
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = strsim::damerau_levenshtein(input, candidate);
        if distance <= limit && best.is_none_or(|(shortest, _)| distance < shortest) {
            best = Some((distance, candidate));
        }
        let (short, long) = if input.len() < candidate.len() { (input, candidate) } else { (candidate, input) };
        if by_prefix.is_none() && short.len() >= 3 && long.starts_with(short) {
            by_prefix = Some(candidate);
        }
    }
    best.map(|(_, candidate)| candidate).or(by_prefix)
}

/// `"; did you mean `x`?"` or nothing.
pub(crate) fn hint<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(input, candidates).map(|best| format!("did you mean `{best}`?"))
}
