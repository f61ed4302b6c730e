//! Input validation and normalisation of CONTRACT §5.

use unicode_normalization::UnicodeNormalization;

use super::ServiceError;

pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_LOCAL_PART_CHARS: usize = 64;
pub const MIN_PASSWORD_BYTES: usize = 8;
/// bcrypt's limit: longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// A longer search could match no title or description; refusing it also
/// keeps the pattern below SQLite's 50,000-byte LIKE limit.
pub const MAX_SEARCH_CHARS: usize = MAX_DESCRIPTION_CHARS;

/// Characters that render as nothing and let two emails look alike.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Trims, NFKC-normalises and lower-cases an email, then checks its shape:
/// the form under which it is stored and compared.
pub fn email(raw: &str) -> Result<String, ServiceError> {
    let bad = |m: &str| ServiceError::bad_input("email", m);
    // Leading and trailing Unicode whitespace (tabs, newlines) goes first.
    let raw = raw.trim();
    if raw.chars().any(is_invisible) {
        return Err(bad("Email contains control or invisible characters"));
    }
    let email: String = raw.nfkc().collect::<String>().trim().to_lowercase();
    if email.chars().any(is_invisible) {
        return Err(bad("Email contains control or invisible characters"));
    }
    if email.is_empty() {
        return Err(bad("Email is required"));
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(bad("Email is longer than 254 characters"));
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("Email must contain exactly one @"));
    };
    if local.is_empty() || local.chars().count() > MAX_LOCAL_PART_CHARS {
        return Err(bad("The part of the email before @ must be 1 to 64 characters"));
    }
    if email.chars().any(char::is_whitespace) {
        return Err(bad("Email must not contain spaces"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
        return Err(bad("Email must have a dotted domain, like example.com"));
    }
    Ok(email)
}

/// 8 to 72 bytes, no NUL byte. `field` is the input field it came from.
pub fn password(field: &'static str, password: &str) -> Result<(), ServiceError> {
    let len = password.len();
    if len < MIN_PASSWORD_BYTES {
        return Err(ServiceError::bad_input(field, "Password must be at least 8 bytes"));
    }
    if len > MAX_PASSWORD_BYTES {
        return Err(ServiceError::bad_input(field, "Password must be at most 72 bytes"));
    }
    if password.contains('\0') {
        return Err(ServiceError::bad_input(field, "Password must not contain a NUL byte"));
    }
    Ok(())
}

/// At most 100 characters, trimmed; blank becomes no name.
pub fn name(name: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::bad_input("name", "Name must be at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::bad_input("name", "Name must not contain control characters"));
    }
    Ok(Some(name.to_owned()))
}

/// 1 to 200 characters after trimming; returned trimmed.
pub fn title(title: &str) -> Result<String, ServiceError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(ServiceError::bad_input("title", "Title must not be empty"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ServiceError::bad_input("title", "Title must be at most 200 characters"));
    }
    Ok(title.to_owned())
}

/// At most 2,000 characters.
pub fn description(description: &str) -> Result<(), ServiceError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ServiceError::bad_input("description", "Description must be at most 2000 characters"));
    }
    Ok(())
}

/// `filter.search`: at most [`MAX_SEARCH_CHARS`] characters.
pub fn search(search: Option<&str>) -> Result<(), ServiceError> {
    match search {
        Some(s) if s.chars().count() > MAX_SEARCH_CHARS => {
            Err(ServiceError::bad_input("search", format!("Search is at most {MAX_SEARCH_CHARS} characters")))
        }
        _ => Ok(()),
    }
}
