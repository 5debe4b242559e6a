// TALLY_CATALOG names a catalog with five mistakes: the compile error shows the first three
// and points at `tally check` for the rest.
fn main() {
    tally::track!("note.created", note_id = "n-1");
}
