//! How the return value of a function annotated with `#[track_event]` splits into `ret` and
//! `err`: a `Result` (whatever alias names it) splits into its `Ok` and `Err` values, any other
//! value is always `ret`.
//!
//! ```
//! use tally_runtime::outcome::{Outcome, ResultOutcome as _, ValueOutcome as _};
//! let failed: Result<u8, &str> = Err("refused");
//! assert_eq!((&Outcome(&failed)).split(), Err(&"refused"));
//! assert!((&Outcome(&7_u8)).split().is_ok());
//! ```

/// The return value of an annotated function, to split a `Result` into `ret` and `err`.
///
/// `(&Outcome(&value)).split()` resolves to [`ResultOutcome::split`] when the value is a
/// `Result` (whatever alias names it) and to [`ValueOutcome::split`] otherwise (autoref
/// specialization: the `Result` impl needs one reference less).
pub struct Outcome<'a, T: ?Sized>(pub &'a T);

/// What a function that is not fallible never returns as an error.
pub enum NotAResult {}

/// The split of a `Result` return value.
pub trait ResultOutcome<'a> {
    /// The `Ok` type.
    type Ok: ?Sized;
    /// The `Err` type.
    type Err: ?Sized;
    /// `Ok(&ok)` or `Err(&err)`.
    fn split(&self) -> Result<&'a Self::Ok, &'a Self::Err>;
}

impl<'a, T, E> ResultOutcome<'a> for Outcome<'a, Result<T, E>> {
    type Ok = T;
    type Err = E;
    fn split(&self) -> Result<&'a T, &'a E> {
        self.0.as_ref()
    }
}

/// The split of any other return value: always `Ok`.
pub trait ValueOutcome<'a> {
    /// The return type.
    type Ok: ?Sized;
    /// `Ok(&value)`.
    fn split(&self) -> Result<&'a Self::Ok, &'a NotAResult>;
}

impl<'a, T: ?Sized> ValueOutcome<'a> for &Outcome<'a, T> {
    type Ok = T;
    fn split(&self) -> Result<&'a T, &'a NotAResult> {
        Ok(self.0)
    }
}

/// A return type `on_err(…)` can split: a `Result`.
#[diagnostic::on_unimplemented(
    message = "`on_err` needs a function that returns a `Result`, not `{Self}`",
    label = "this function does not return a `Result`"
)]
pub trait Fallible {}

impl<T, E> Fallible for Result<T, E> {}

/// Checks that a function annotated with `on_err(…)` returns a `Result`.
#[inline]
pub fn fallible<R: Fallible>(_: &R) {}
