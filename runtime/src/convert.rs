//! Conversions of Rust values to [`PropertyValue`](crate::PropertyValue)s of a catalog type: what
//! `#[track_event]` and `track!` check property values with, and what hand-written code can use
//! to get the same checks.
//!
//! Every catalog type has a trait (`StringValue`, `IntegerValue`, …), its `Option` form
//! (`MaybeString`, …), its array form (`StringArray`, …) and that one's `Option` form, and a
//! function named after the type (`string(&value)`, `integer(&value)`, `string_array(&value)`,
//! `string_maybe(&value)`, …) bounded by the trait. The macros span the call at the user's
//! expression, so a value of the wrong type is a type error there, with the trait's message.
//! Values are taken by reference: a property never moves anything out of the function's
//! arguments. The scalar conversions end in the `From` impls of [`PropertyValue`](crate::PropertyValue) (or
//! [`PropertyValue::text`](crate::PropertyValue::text) for borrowed text), so both ways of building a value agree.
//!
//! `*_maybe` variants also take an `Option` (for `nullable` or `required = false` properties):
//! `None` is `null` for a nullable property and no property at all for an optional one.
//!
//! ```
//! use tally_runtime::convert;
//! assert_eq!(convert::string("p-42"), serde_json::json!("p-42"));
//! assert_eq!(convert::integer_maybe(&None::<u32>), None);
//! assert_eq!(convert::string_array(&vec!["a", "b"]), serde_json::json!(["a", "b"]));
//! ```

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value as Json;

use crate::{DistinctId, PropertyValue as Value};

/// The `distinct_id = …` override: text, a [`DistinctId`], or an `Option` of one (`None` keeps
/// the catalog's identity strategy).
#[inline]
pub fn distinct_id<T: DistinctIdValue + ?Sized>(value: &T) -> Option<DistinctId> {
    value.tally_distinct_id()
}

/// A value that can be an event's `distinct_id`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `distinct_id`",
    label = "`distinct_id` takes text or a `tally::identity::DistinctId`",
    note = "convert it with `.to_string()`; an `Option` that is `None` keeps the identity from the context"
)]
pub trait DistinctIdValue {
    /// The id, if any.
    fn tally_distinct_id(&self) -> Option<DistinctId>;
}

impl DistinctIdValue for DistinctId {
    fn tally_distinct_id(&self) -> Option<DistinctId> {
        Some(self.clone())
    }
}

#[diagnostic::do_not_recommend]
impl<T: DistinctIdValue> DistinctIdValue for Option<T> {
    fn tally_distinct_id(&self) -> Option<DistinctId> {
        self.as_ref().and_then(DistinctIdValue::tally_distinct_id)
    }
}

#[diagnostic::do_not_recommend]
impl<T: DistinctIdValue + ?Sized> DistinctIdValue for &T {
    fn tally_distinct_id(&self) -> Option<DistinctId> {
        (**self).tally_distinct_id()
    }
}

/// Implements a value trait for the text types, with `$convert` turning the `&str` into a value.
macro_rules! text_impls {
    ($trait:ident, $method:ident, $out:ty, |$text:ident| $convert:expr) => {
        impl $trait for str {
            fn $method(&self) -> $out {
                let $text: &str = self;
                $convert
            }
        }
        impl $trait for String {
            fn $method(&self) -> $out {
                let $text: &str = self;
                $convert
            }
        }
        impl $trait for Cow<'_, str> {
            fn $method(&self) -> $out {
                let $text: &str = self;
                $convert
            }
        }
        impl $trait for Box<str> {
            fn $method(&self) -> $out {
                let $text: &str = self;
                $convert
            }
        }
        impl $trait for Arc<str> {
            fn $method(&self) -> $out {
                let $text: &str = self;
                $convert
            }
        }
        impl $trait for Rc<str> {
            fn $method(&self) -> $out {
                let $text: &str = self;
                $convert
            }
        }
    };
}

text_impls!(DistinctIdValue, tally_distinct_id, Option<DistinctId>, |text| Some(DistinctId::new(text)));

/// Declares the traits of one catalog type: the scalar trait, its `Option` form, the
/// array-of-it trait and that one's `Option` form. (rustfmt re-indents attributes inside
/// `macro_rules!` a little more on every run: skipped.)
#[rustfmt::skip]
macro_rules! catalog_type {
    (
        $name:literal, $message:literal, $array_message:literal, $note:literal,
        $scalar:ident, $maybe:ident, $array:ident, $maybe_array:ident
    ) => {
        #[doc = concat!("A Rust value that can be a catalog `", $name, "`.")]
        #[diagnostic::on_unimplemented(
            message = $message,
            label = "the catalog declares another type for this property",
            note = $note,
            note = "an `Option` fits only a property declared `nullable = true` or `required = false`"
        )]
        pub trait $scalar {
            /// The JSON value.
            fn tally_value(&self) -> Value;
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar + ?Sized> $scalar for &T {
            fn tally_value(&self) -> Value {
                (**self).tally_value()
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar + ?Sized> $scalar for &mut T {
            fn tally_value(&self) -> Value {
                (**self).tally_value()
            }
        }

        #[doc = concat!("A `", $name, "` or an `Option` of one.")]
        #[diagnostic::on_unimplemented(
            message = $message,
            label = "the catalog declares another type for this property",
            note = $note
        )]
        pub trait $maybe {
            /// The JSON value, `None` for an absent one.
            fn tally_maybe(&self) -> Option<Value>;
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar + ?Sized> $maybe for T {
            fn tally_maybe(&self) -> Option<Value> {
                Some(self.tally_value())
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar> $maybe for Option<T> {
            fn tally_maybe(&self) -> Option<Value> {
                self.as_ref().map($scalar::tally_value)
            }
        }

        #[doc = concat!("A collection that can be a catalog `array` of `", $name, "`.")]
        #[diagnostic::on_unimplemented(
            message = $array_message,
            label = "the catalog declares another type for this property",
            note = "arrays take a slice, an array, a `Vec`, a `VecDeque`, a `BTreeSet` or a `HashSet`",
            note = "an `Option` fits only a property declared `nullable = true` or `required = false`"
        )]
        pub trait $array {
            /// The JSON array.
            fn tally_array(&self) -> Value;
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar> $array for [T] {
            fn tally_array(&self) -> Value {
                Value::from(Json::Array(self.iter().map(|item| $scalar::tally_value(item).into_json()).collect()))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar, const N: usize> $array for [T; N] {
            fn tally_array(&self) -> Value {
                Value::from(Json::Array(self.iter().map(|item| $scalar::tally_value(item).into_json()).collect()))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar> $array for Vec<T> {
            fn tally_array(&self) -> Value {
                Value::from(Json::Array(self.iter().map(|item| $scalar::tally_value(item).into_json()).collect()))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar> $array for VecDeque<T> {
            fn tally_array(&self) -> Value {
                Value::from(Json::Array(self.iter().map(|item| $scalar::tally_value(item).into_json()).collect()))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar> $array for BTreeSet<T> {
            fn tally_array(&self) -> Value {
                Value::from(Json::Array(self.iter().map(|item| $scalar::tally_value(item).into_json()).collect()))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $scalar, S> $array for HashSet<T, S> {
            fn tally_array(&self) -> Value {
                Value::from(Json::Array(self.iter().map(|item| $scalar::tally_value(item).into_json()).collect()))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $array + ?Sized> $array for &T {
            fn tally_array(&self) -> Value {
                (**self).tally_array()
            }
        }

        #[doc = concat!("An array of `", $name, "` or an `Option` of one.")]
        #[diagnostic::on_unimplemented(
            message = $array_message,
            label = "the catalog declares another type for this property",
            note = "arrays take a slice, an array, a `Vec`, a `VecDeque`, a `BTreeSet` or a `HashSet`"
        )]
        pub trait $maybe_array {
            /// The JSON array, `None` for an absent one.
            fn tally_maybe_array(&self) -> Option<Value>;
        }

        #[diagnostic::do_not_recommend]
        impl<T: $array + ?Sized> $maybe_array for T {
            fn tally_maybe_array(&self) -> Option<Value> {
                Some(self.tally_array())
            }
        }

        #[diagnostic::do_not_recommend]
        impl<T: $array> $maybe_array for Option<T> {
            fn tally_maybe_array(&self) -> Option<Value> {
                self.as_ref().map($array::tally_array)
            }
        }
    };
}

catalog_type!(
    "string",
    "`{Self}` cannot be the catalog type `string`",
    "`{Self}` cannot be the catalog type `array` of `string`",
    "string properties take `&str`, `String`, `Cow<str>`, `Box<str>`, `Arc<str>`, `Rc<str>` or `char`: convert other values with `.to_string()`",
    StringValue,
    MaybeString,
    StringArray,
    MaybeStringArray
);
catalog_type!(
    "integer",
    "`{Self}` cannot be the catalog type `integer`",
    "`{Self}` cannot be the catalog type `array` of `integer`",
    "integer properties take the integer types up to 64 bits",
    IntegerValue,
    MaybeInteger,
    IntegerArray,
    MaybeIntegerArray
);
catalog_type!(
    "number",
    "`{Self}` cannot be the catalog type `number`",
    "`{Self}` cannot be the catalog type `array` of `number`",
    "number properties take `f64`, `f32` and the integer types up to 64 bits",
    NumberValue,
    MaybeNumber,
    NumberArray,
    MaybeNumberArray
);
catalog_type!(
    "boolean",
    "`{Self}` cannot be the catalog type `boolean`",
    "`{Self}` cannot be the catalog type `array` of `boolean`",
    "boolean properties take a `bool`",
    BooleanValue,
    MaybeBoolean,
    BooleanArray,
    MaybeBooleanArray
);
catalog_type!(
    "datetime",
    "`{Self}` cannot be the catalog type `datetime`",
    "`{Self}` cannot be the catalog type `array` of `datetime`",
    "datetime properties take `std::time::SystemTime`, a `chrono::DateTime` or RFC 3339 text",
    DatetimeValue,
    MaybeDatetime,
    DatetimeArray,
    MaybeDatetimeArray
);
catalog_type!(
    "uuid",
    "`{Self}` cannot be the catalog type `uuid`",
    "`{Self}` cannot be the catalog type `array` of `uuid`",
    "uuid properties take a `uuid::Uuid` or its hyphenated text",
    UuidValue,
    MaybeUuid,
    UuidArray,
    MaybeUuidArray
);
catalog_type!(
    "enum",
    "`{Self}` cannot be the catalog type `enum`",
    "`{Self}` cannot be the catalog type `array` of `enum`",
    "enum properties take text (`&str`, `String`, …) that is one of the catalog's `values`",
    EnumValue,
    MaybeEnum,
    EnumArray,
    MaybeEnumArray
);
catalog_type!(
    "object",
    "`{Self}` cannot be the catalog type `object`",
    "`{Self}` cannot be the catalog type `array` of `object`",
    "object properties take a `serde_json::Value` (an object) or a `serde_json::Map<String, Value>`",
    ObjectValue,
    MaybeObject,
    ObjectArray,
    MaybeObjectArray
);
catalog_type!(
    "any",
    "`{Self}` cannot be the catalog type `any`",
    "`{Self}` cannot be the catalog type `array` of `any`",
    "items of an array without `items` take text, numbers, booleans or a `serde_json::Value`",
    AnyValue,
    MaybeAny,
    AnyArray,
    MaybeAnyArray
);

text_impls!(StringValue, tally_value, Value, |text| Value::text(text));
text_impls!(DatetimeValue, tally_value, Value, |text| Value::text(text));
text_impls!(UuidValue, tally_value, Value, |text| Value::text(text));
text_impls!(EnumValue, tally_value, Value, |text| Value::text(text));
text_impls!(AnyValue, tally_value, Value, |text| Value::text(text));

impl StringValue for char {
    fn tally_value(&self) -> Value {
        Value::from(self.to_string())
    }
}

/// Implements value traits for types that convert with `Value::from`.
macro_rules! from_impls {
    ($trait:ident: $($ty:ty),*) => {
        $(impl $trait for $ty {
            fn tally_value(&self) -> Value {
                Value::from(*self)
            }
        })*
    };
}

from_impls!(IntegerValue: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
from_impls!(NumberValue: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);
from_impls!(AnyValue: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, bool);
impl BooleanValue for bool {
    fn tally_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl DatetimeValue for SystemTime {
    fn tally_value(&self) -> Value {
        DatetimeValue::tally_value(&chrono::DateTime::<chrono::Utc>::from(*self))
    }
}

impl<Tz: chrono::TimeZone> DatetimeValue for chrono::DateTime<Tz> {
    fn tally_value(&self) -> Value {
        Value::from(self.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }
}

impl UuidValue for uuid::Uuid {
    fn tally_value(&self) -> Value {
        Value::from(self.hyphenated().to_string())
    }
}

impl ObjectValue for Json {
    fn tally_value(&self) -> Value {
        Value::from(self.clone())
    }
}

impl ObjectValue for serde_json::Map<String, Json> {
    fn tally_value(&self) -> Value {
        Value::from(Json::Object(self.clone()))
    }
}

impl AnyValue for Json {
    fn tally_value(&self) -> Value {
        Value::from(self.clone())
    }
}

// One function per catalog type and form. They are written out, not generated, so that a
// type error's note shows a plain signature.

/// A required `string` property.
#[inline]
pub fn string<T: StringValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `string` property.
#[inline]
pub fn string_maybe<T: MaybeString + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `string` property.
#[inline]
pub fn string_array<T: StringArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `string` property.
#[inline]
pub fn string_array_maybe<T: MaybeStringArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `integer` property.
#[inline]
pub fn integer<T: IntegerValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `integer` property.
#[inline]
pub fn integer_maybe<T: MaybeInteger + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `integer` property.
#[inline]
pub fn integer_array<T: IntegerArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `integer` property.
#[inline]
pub fn integer_array_maybe<T: MaybeIntegerArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `number` property.
#[inline]
pub fn number<T: NumberValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `number` property.
#[inline]
pub fn number_maybe<T: MaybeNumber + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `number` property.
#[inline]
pub fn number_array<T: NumberArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `number` property.
#[inline]
pub fn number_array_maybe<T: MaybeNumberArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `boolean` property.
#[inline]
pub fn boolean<T: BooleanValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `boolean` property.
#[inline]
pub fn boolean_maybe<T: MaybeBoolean + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `boolean` property.
#[inline]
pub fn boolean_array<T: BooleanArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `boolean` property.
#[inline]
pub fn boolean_array_maybe<T: MaybeBooleanArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `datetime` property.
#[inline]
pub fn datetime<T: DatetimeValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `datetime` property.
#[inline]
pub fn datetime_maybe<T: MaybeDatetime + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `datetime` property.
#[inline]
pub fn datetime_array<T: DatetimeArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `datetime` property.
#[inline]
pub fn datetime_array_maybe<T: MaybeDatetimeArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `uuid` property.
#[inline]
pub fn uuid<T: UuidValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `uuid` property.
#[inline]
pub fn uuid_maybe<T: MaybeUuid + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `uuid` property.
#[inline]
pub fn uuid_array<T: UuidArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `uuid` property.
#[inline]
pub fn uuid_array_maybe<T: MaybeUuidArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `enum` property.
#[inline]
pub fn enumeration<T: EnumValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `enum` property.
#[inline]
pub fn enumeration_maybe<T: MaybeEnum + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `enum` property.
#[inline]
pub fn enumeration_array<T: EnumArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `enum` property.
#[inline]
pub fn enumeration_array_maybe<T: MaybeEnumArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `object` property.
#[inline]
pub fn object<T: ObjectValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `object` property.
#[inline]
pub fn object_maybe<T: MaybeObject + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `object` property.
#[inline]
pub fn object_array<T: ObjectArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `object` property.
#[inline]
pub fn object_array_maybe<T: MaybeObjectArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}

/// A required `any` property.
#[inline]
pub fn any<T: AnyValue + ?Sized>(value: &T) -> Value {
    value.tally_value()
}

/// A nullable or optional `any` property.
#[inline]
pub fn any_maybe<T: MaybeAny + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe()
}

/// A required `array` of `any` property.
#[inline]
pub fn any_array<T: AnyArray + ?Sized>(value: &T) -> Value {
    value.tally_array()
}

/// A nullable or optional `array` of `any` property.
#[inline]
pub fn any_array_maybe<T: MaybeAnyArray + ?Sized>(value: &T) -> Option<Value> {
    value.tally_maybe_array()
}
