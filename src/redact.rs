//! Credentials out of everything dunwell prints or stores.
//!
//! Gateway and relay URLs often carry secrets (`https://user:pass@…`,
//! `…/send?api_key=…`). Any URL that reaches stdout, stderr, the journal, summary.json
//! or report.html goes through [`url`] first: the user-info and the values of query
//! parameters named like a credential are replaced by `***`.

/// Query parameter names (lower case) whose values are secrets, or contain one of these.
const SECRET_PARAMS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "sig",
    "signature",
    "auth",
    "credential",
    "session",
];

/// `text` with the credentials of the URL in it replaced by `***`. Built for malformed
/// URLs too — they are the ones printed in errors: everything before the last `@` (after
/// the scheme, if there is one) is user-info as far as redaction goes, whatever `/`, `?`
/// or `#` it holds, since that is how the SMTP URL parser reads it.
pub fn url(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, text),
    };
    let (userinfo, rest) = match rest.rfind('@') {
        Some(at) => (true, &rest[at + 1..]),
        None => (false, rest),
    };
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    let tail = match before_fragment.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if is_secret(k) => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => before_fragment.to_string(),
    };
    let mut out = String::with_capacity(text.len());
    if let Some(s) = scheme {
        out.push_str(s);
        out.push_str("://");
    }
    if userinfo {
        out.push_str("***@");
    }
    out.push_str(&tail);
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| n.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_hidden() {
        assert_eq!(
            url("https://gw.example/send?api_key=abc123&to=1"),
            "https://gw.example/send?api_key=***&to=1"
        );
        assert_eq!(
            url("smtp+starttls://dunning:s3cret@relay.example:587"),
            "smtp+starttls://***@relay.example:587"
        );
        assert_eq!(
            url("https://u:p@h.example/p?X-Amz-Signature=f00&AccessToken=t&page=2#k"),
            "https://***@h.example/p?X-Amz-Signature=***&AccessToken=***&page=2#k"
        );
        assert_eq!(url("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        assert_eq!(url("not a url"), "not a url");
        // A password with an `@` in it: the last `@` ends the user-info.
        assert_eq!(url("smtp://u:p@ss@h:25"), "smtp://***@h:25");
        // Malformed URLs are the ones that end up in error messages.
        for (bad, secret) in [
            ("smtp://user:pa/ss@127.0.0.1:99999", "pa/ss"),
            ("smtp://user:pa?ss@127.0.0.1:25", "pa?ss"),
            ("smtp://user:pa#ss@127.0.0.1:25", "pa#ss"),
            ("smtps//user:pa55@h", "pa55"),
        ] {
            let shown = url(bad);
            assert!(!shown.contains(secret), "{bad} → {shown}");
            assert!(shown.contains("***@"), "{bad} → {shown}");
        }
    }
}
