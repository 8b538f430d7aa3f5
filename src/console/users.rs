//! Who may use the console: the users file (name, role, argon2 password hash, groups), and
//! the roles that say what each user may do. Checking a password is here; sessions and the
//! reverse-proxy header are `access`'s.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Deserialize;

/// What a console user may do. Each role may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads every page; acts on nothing.
    Viewer,
    /// Also resolves items in doubt, retries failures, cancels runs and replays events.
    Operator,
    /// Also approves and denies approval steps.
    Approver,
}

impl Role {
    /// The name in the users file and on the page (`operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Approver => "approver",
        }
    }

    /// The role named `name`, if any.
    pub fn from_name(name: &str) -> Option<Role> {
        [Self::Viewer, Self::Operator, Self::Approver]
            .into_iter()
            .find(|role| role.as_str() == name)
    }

    /// Whether the role may take operator actions (resolve, retry, cancel, replay).
    pub fn may_operate(self) -> bool {
        self >= Self::Operator
    }

    /// Whether the role may approve or deny.
    pub fn may_approve(self) -> bool {
        self >= Self::Approver
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One user of the users file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The name shown on pages and recorded with every action.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// The argon2 hash of the password (`sluice console hash-password`); a user without one
    /// can only come in through the trusted reverse-proxy header.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// The teams the user belongs to, shown beside the name.
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: Vec<UserConfig>,
}

/// The users file, by name.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_name: BTreeMap<String, UserConfig>,
}

/// Why the users file cannot be used, or a password cannot be hashed.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file cannot be read.
    #[error("cannot read the users file `{path}`")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a users file.
    #[error("`{path}` is not a users file")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: serde_yaml::Error,
    },
    /// Two users share a name.
    #[error("user `{0}` is listed twice in the users file")]
    Duplicate(String),
    /// A password hash is not an argon2 PHC string.
    #[error(
        "the password hash of user `{0}` is not an argon2 hash (`sluice console hash-password` makes one)"
    )]
    BadHash(String),
    /// Hashing failed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

impl Users {
    /// Reads and checks a users file.
    ///
    /// # Errors
    /// An unreadable or malformed file, a name listed twice, a hash that is not argon2's.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            UsersError::Parse { source, .. } => UsersError::Parse {
                path: path.display().to_string(),
                source,
            },
            other => other,
        })
    }

    /// Parses the text of a users file.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn parse(text: &str) -> Result<Users, UsersError> {
        let file: UsersFile = serde_yaml::from_str(text).map_err(|source| UsersError::Parse {
            path: String::new(),
            source,
        })?;
        let mut by_name = BTreeMap::new();
        for user in file.users {
            if let Some(hash) = &user.password_hash
                && PasswordHash::new(hash).is_err()
            {
                return Err(UsersError::BadHash(user.name));
            }
            if by_name.contains_key(&user.name) {
                return Err(UsersError::Duplicate(user.name));
            }
            by_name.insert(user.name.clone(), user);
        }
        Ok(Users { by_name })
    }

    /// Whether no user is configured.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The user named `name`, if listed.
    pub fn get(&self, name: &str) -> Option<&UserConfig> {
        self.by_name.get(name)
    }

    /// The user whose name and password these are. An unknown name costs a hash check
    /// too, so the answer's timing does not tell which names exist.
    pub fn verify(&self, name: &str, password: &str) -> Option<&UserConfig> {
        let user = self.by_name.get(name);
        let hash = user
            .and_then(|u| u.password_hash.as_deref())
            .unwrap_or(DECOY_HASH);
        let parsed = PasswordHash::new(hash).ok()?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        user.filter(|u| matches && u.password_hash.is_some())
    }
}

/// A hash of a password nobody has, checked when the name is unknown.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2x1aWNlZGVjb3lzYWx0$0bIjPzG2tGkuVbdOcF8eC0YtcyYx7QUz3nNbmcTmA3o";

/// The argon2id hash of `password`, with a random salt, for the users file.
///
/// # Errors
/// The system's random source failed.
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| UsersError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_log_in_with_their_password_and_roles_nest() {
        let hash = hash_password("correct horse").unwrap();
        let text = format!(
            "users:\n  - name: ana\n    role: approver\n    password_hash: \"{hash}\"\n    groups: [finance]\n  - name: bo\n    role: viewer\n"
        );
        let users = Users::parse(&text).unwrap();
        let ana = users.verify("ana", "correct horse").unwrap();
        assert_eq!(
            (ana.role, ana.groups.as_slice()),
            (Role::Approver, &["finance".to_owned()][..])
        );
        assert!(users.verify("ana", "wrong").is_none());
        assert!(
            users.verify("bo", "").is_none(),
            "no hash: no password login"
        );
        assert!(users.verify("nobody", "correct horse").is_none());
        assert!(Role::Approver.may_operate() && Role::Approver.may_approve());
        assert!(Role::Operator.may_operate() && !Role::Operator.may_approve());
        assert!(!Role::Viewer.may_operate());
        assert_eq!(Role::from_name("operator"), Some(Role::Operator));
        assert!(
            PasswordHash::new(DECOY_HASH).is_ok(),
            "the decoy is checked like a real hash"
        );
    }

    #[test]
    fn a_bad_users_file_is_refused_with_the_reason() {
        let twice = "users:\n  - {name: a, role: viewer}\n  - {name: a, role: operator}\n";
        assert!(matches!(Users::parse(twice), Err(UsersError::Duplicate(n)) if n == "a"));
        let bad = "users:\n  - {name: a, role: viewer, password_hash: plain}\n";
        assert!(matches!(Users::parse(bad), Err(UsersError::BadHash(_))));
        assert!(Users::parse("users:\n  - {name: a, role: admin}\n").is_err());
    }
}
