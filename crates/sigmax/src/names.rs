//! One vocabulary: every choice a user makes by name (model, loss, penalty, solver,
//! preconditioner, schedule, format, margin head) is an enum declared with
//! [`named_choice!`](crate::named_choice), which gives it one spelling per variant (plus accepted aliases)
//! for `FromStr`, `Display`, serde, the command lines, model files, JSON reports and the
//! Python package alike. Nothing else spells these names.

/// A name that is not one of a choice's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}; expected one of: {}", expected.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: Vec<&'static str>,
}

/// What every named choice offers, for front ends that list or complete the names.
pub trait NamedChoice: Copy + std::str::FromStr<Err = UnknownName> + 'static {
    /// What the choice is called in messages ("solver", "model", ...).
    const WHAT: &'static str;
    /// Every value, in declaration order.
    fn all() -> Vec<Self>;
    /// The canonical name.
    fn name(self) -> &'static str;
    /// Other spellings accepted when parsing.
    fn aliases(self) -> Vec<&'static str>;
}

/// Declares a `Copy` enum whose variants have one canonical name each (and optional
/// aliases accepted when parsing). Serialized as the canonical name.
#[macro_export]
macro_rules! named_choice {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $canon:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $canon),+
                }
            }

            /// Every canonical name, in declaration order.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.name()).collect()
            }
        }

        impl $crate::names::NamedChoice for $name {
            const WHAT: &'static str = $what;
            fn all() -> Vec<Self> {
                Self::ALL.to_vec()
            }
            fn name(self) -> &'static str {
                $name::name(self)
            }
            fn aliases(self) -> Vec<&'static str> {
                match self {
                    $($name::$variant => vec![$($alias),*]),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                let key = s.trim().to_ascii_lowercase();
                $(
                    if key == $canon $(|| key == $alias)* {
                        return Ok($name::$variant);
                    }
                )+
                Err($crate::names::UnknownName {
                    what: $what,
                    given: s.to_string(),
                    expected: Self::names(),
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::string::String as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    named_choice! {
        /// A test choice.
        pub enum Fruit ("fruit") {
            Apple = "apple" | "pomme",
            /// A long name.
            BloodOrange = "blood-orange" | "blood_orange",
        }
    }

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for &f in Fruit::ALL {
            assert_eq!(f.to_string().parse::<Fruit>().unwrap(), f);
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<Fruit>(&json).unwrap(), f);
        }
        assert_eq!("POMME".parse::<Fruit>().unwrap(), Fruit::Apple);
        assert_eq!("blood_orange".parse::<Fruit>().unwrap(), Fruit::BloodOrange);
        let e = "kiwi".parse::<Fruit>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown fruit \"kiwi\"; expected one of: apple, blood-orange"
        );
    }
}
