//! The standard conversions of the validated string types, written once.

/// Implements, for a validated string type `$ty` whose `$parse(&str)`
/// returns `Result<$ty, $err>` and which has `as_str`: `FromStr`,
/// `TryFrom<&str>`, `TryFrom<String>` and `AsRef<str>`; for a newtype over
/// a `String` (`newtype`), also `From<$ty> for String`. With the `serde`
/// feature the type (de)serializes as its string, validated on the way in.
macro_rules! validated_string {
    (newtype $ty:ident, $err:ty, $parse:ident) => {
        crate::conversions::validated_string!(name $ty, $err, $parse);

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }
    };
    (name $ty:ident, $err:ty, $parse:ident) => {
        impl ::std::str::FromStr for $ty {
            type Err = $err;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::$parse(raw)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = $err;
            fn try_from(raw: &str) -> Result<Self, Self::Error> {
                Self::$parse(raw)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $err;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::$parse(&raw)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        #[cfg(feature = "serde")]
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::$parse(&raw).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use validated_string;

#[cfg(test)]
mod tests {
    use crate::chat::AppId;
    use crate::identity::user::{DisplayName, Email, LoginId, UserId};
    use crate::sessions::session::SessionId;
    use crate::social::Provider;

    #[test]
    fn validated_strings_convert_from_and_to_text() {
        let email: Email = "kim@example.com".parse().unwrap();
        assert_eq!(email.as_ref(), "kim@example.com");
        assert_eq!(String::from(email), "kim@example.com");
        assert!("not an email".parse::<Email>().is_err());
        assert_eq!(
            LoginId::try_from(String::from("parkh")).unwrap().as_ref(),
            "parkh"
        );
        assert!(LoginId::try_from("").is_err());
        assert_eq!(DisplayName::try_from("홍길동").unwrap().as_str(), "홍길동");
        assert_eq!(AppId::try_from("app_a").unwrap().as_ref(), "app_a");
        assert!("no spaces".parse::<AppId>().is_err());
        assert_eq!("kakao".parse::<Provider>(), Ok(Provider::Kakao));
        assert!("Kakao".parse::<Provider>().is_err());
    }

    #[test]
    fn ids_convert_from_and_to_their_raw_values() {
        assert_eq!("7".parse::<UserId>().unwrap(), UserId::new(7));
        assert_eq!(i64::from(UserId::from(7)), 7);
        assert!("seven".parse::<UserId>().is_err());
        let raw = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let sid: SessionId = raw.parse().unwrap();
        assert_eq!(uuid::Uuid::from(sid).to_string(), raw);
        assert_eq!(SessionId::from(uuid::Uuid::from(sid)), sid);
    }
}
