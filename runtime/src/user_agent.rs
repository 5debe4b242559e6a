//! The device class and browser of a `User-Agent` header, for `fill = "device_type"` and
//! `fill = "browser"`. Parsed on the worker, never on the request path, by Project Woothee's
//! parser (pure Rust, no data files to load).

use woothee::parser::Parser;

/// Woothee's name for a value it could not tell.
const UNKNOWN: &str = "UNKNOWN";

/// `desktop`, `mobile` or `tablet`; `None` for a crawler or an agent the parser does not know
/// (the property is then absent, not guessed).
pub(crate) fn device_type(user_agent: &str) -> Option<&'static str> {
    let parsed = Parser::new().parse(user_agent)?;
    match parsed.category {
        "pc" => Some("desktop"),
        // Woothee files tablets under smartphones: an iPad, an Android device whose agent
        // does not say `Mobile` (Android's convention for tablets), or one that says `Tablet`.
        "smartphone" | "mobilephone" => {
            let tablet = parsed.os == "iPad"
                || (parsed.os == "Android" && !user_agent.contains("Mobile"))
                || user_agent.contains("Tablet");
            Some(if tablet { "tablet" } else { "mobile" })
        }
        _ => None,
    }
}

/// The browser's name and major version (`Firefox 133`, `Chrome 131`, `Safari 18`); the name
/// alone when the version is unknown; `None` for a crawler or an unknown agent.
pub(crate) fn browser(user_agent: &str) -> Option<String> {
    let parsed = Parser::new().parse(user_agent)?;
    if parsed.name == UNKNOWN || parsed.category == "crawler" {
        return None;
    }
    let major = parsed.version.split('.').next().filter(|major| !major.is_empty() && *major != UNKNOWN);
    Some(match major {
        Some(major) => format!("{} {major}", parsed.name),
        None => parsed.name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const CHROME_ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    #[test]
    fn device_classes() {
        assert_eq!(device_type(FIREFOX_LINUX), Some("desktop"));
        assert_eq!(device_type(CHROME_WINDOWS), Some("desktop"));
        assert_eq!(device_type(SAFARI_IPHONE), Some("mobile"));
        assert_eq!(device_type(SAFARI_IPAD), Some("tablet"));
        assert_eq!(device_type(CHROME_ANDROID_TABLET), Some("tablet"));
        assert_eq!(device_type(GOOGLEBOT), None);
        assert_eq!(device_type("curl/8.5.0"), None);
        assert_eq!(device_type(""), None);
    }

    #[test]
    fn browser_name_and_major_version() {
        assert_eq!(browser(FIREFOX_LINUX).as_deref(), Some("Firefox 133"));
        assert_eq!(browser(CHROME_WINDOWS).as_deref(), Some("Chrome 131"));
        assert_eq!(browser(SAFARI_IPHONE).as_deref(), Some("Safari 18"));
        assert_eq!(browser(GOOGLEBOT), None);
        assert_eq!(browser("\u{0}\u{ffff}not an agent"), None);
    }
}
