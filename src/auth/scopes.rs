//! What a token may do (CONTRACT §10): four scopes, held as a small set.

/// One scope of §10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    TasksRead,
    TasksWrite,
    ProfileRead,
    Account,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::TasksRead, Scope::TasksWrite, Scope::ProfileRead, Scope::Account];

    /// The spelling in tokens, the SDL and errors.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::TasksRead => "tasks:read",
            Scope::TasksWrite => "tasks:write",
            Scope::ProfileRead => "profile:read",
            Scope::Account => "account",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// What a session holds.
    pub const ALL: Scopes = Scopes(0b1111);
    pub const NONE: Scopes = Scopes(0);

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether every scope of `all` is held.
    pub fn contains_all(self, all: &[Scope]) -> bool {
        all.iter().all(|s| self.contains(*s))
    }

    /// The known scopes among `words` (unknown ones are ignored, so an
    /// issuer's other scopes do not make a token unusable).
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Scopes {
        Scopes(words.into_iter().filter_map(Scope::parse).fold(0, |acc, s| acc | s.bit()))
    }

    /// As an RFC 9068 `scope` claim: space-separated.
    pub fn to_claim(self) -> String {
        Scope::ALL.iter().filter(|s| self.contains(**s)).map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |acc, s| acc | s.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_round_trip_and_unknown_words_are_ignored() {
        assert_eq!(Scopes::ALL.to_claim(), "tasks:read tasks:write profile:read account");
        assert_eq!(Scopes::from_words("tasks:read openid email".split(' ')), [Scope::TasksRead].into_iter().collect());
        assert!(Scopes::from_words(Scopes::ALL.to_claim().split(' ')) == Scopes::ALL);
        assert!(!Scopes::NONE.contains(Scope::Account));
    }
}
