//! Generics, `impl Trait` arguments and return types, lifetimes, where clauses, patterns.

use std::fmt::Display;

#[tally::track_event("project.created", project_id = id.to_string(), has_client = true)]
pub fn generic<T: Display + Clone>(id: T) -> T {
    id.clone()
}

#[tally::track_event("export.finished", rows = rows.len())]
pub fn with_where<'a, R>(rows: &'a [R]) -> Option<&'a R>
where
    R: PartialEq,
{
    rows.first()
}

#[tally::track_event("export.finished", rows = ret.clone().count())]
pub fn impl_return(rows: Vec<u32>, even: impl Fn(&u32) -> bool + Clone) -> impl Iterator<Item = u32> + Clone {
    rows.into_iter().filter(even)
}

#[tally::track_event("project.deleted", project_id = name)]
pub fn patterns((name, _size): (&str, usize), Wrapper { inner, .. }: Wrapper, _: u8) -> u32 {
    inner
}

pub struct Wrapper {
    pub inner: u32,
    pub other: u32,
}

#[tally::track_event("project.deleted", project_id = format!("{id}"))]
pub async fn generic_async<I: Display + Send>(id: I) -> Result<I, std::io::Error> {
    Ok(id)
}

fn main() {
    assert_eq!(generic(7), 7);
    assert_eq!(with_where(&[1, 2]), Some(&1));
    assert_eq!(impl_return(vec![1, 2, 4], |row| row % 2 == 0).count(), 2);
    assert_eq!(patterns(("p", 1), Wrapper { inner: 3, other: 4 }, 0), 3);
    let _ = generic_async(1);
}
