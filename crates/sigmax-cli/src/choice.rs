//! Command-line values for the library's named choices: the names, their aliases, the
//! listing in `--help` and the error for a typo all come from the library's vocabulary
//! ([`sigmax::names::NamedChoice`]); nothing here spells a name.

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use sigmax::names::NamedChoice;
use std::marker::PhantomData;

/// A clap value parser for any named choice: `#[arg(value_parser = choice::<T>())]`.
pub fn choice<T: NamedChoice + Send + Sync>() -> ChoiceParser<T> {
    ChoiceParser(PhantomData)
}

#[derive(Clone)]
pub struct ChoiceParser<T>(PhantomData<T>);

impl<T: NamedChoice + Send + Sync> TypedValueParser for ChoiceParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let s = value.to_string_lossy();
        s.parse::<T>()
            .map_err(|e| clap::Error::raw(ErrorKind::InvalidValue, format!("{e}\n")).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            T::all()
                .into_iter()
                .map(|v| PossibleValue::new(v.name()).aliases(v.aliases())),
        ))
    }
}
