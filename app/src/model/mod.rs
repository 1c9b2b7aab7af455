//! The API's resources and the rules their input must follow. Pure: no I/O.

pub mod property;
pub mod user;
mod validate;

pub use validate::{FieldError, Invalid};
