//! Personal payment pages.
