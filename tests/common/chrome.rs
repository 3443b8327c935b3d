//! Chrome as the Rust tests and benchmarks present it, one place for its headers: Chrome 131 on
//! Windows in German (the browser tests/e2e/clients.mjs replays, and the signal benchmarks'
//! request), and Chromium on Linux in US English (the browser suites' person,
//! tests/e2e/browser.mjs), whose form navigation the test driver sends for a person.

/// One Chrome: what it sends with every request besides the request's own headers.
pub struct Chrome {
    pub user_agent: &'static str,
    /// `Sec-CH-UA`: the brands, consistent with the User-Agent's version.
    pub brands: &'static str,
    /// `Sec-CH-UA-Platform`.
    pub platform: &'static str,
    /// `Accept-Language`.
    pub languages: &'static str,
}

/// Chrome 131 on Windows, in German.
pub const WINDOWS: Chrome = Chrome {
    user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    brands: "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
    platform: "\"Windows\"",
    languages: "de-DE,de;q=0.9,en;q=0.8",
};

/// Chromium 131 on Linux, in US English.
pub const LINUX: Chrome = Chrome {
    user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    brands: "\"Chromium\";v=\"131\", \"Not:A-Brand\";v=\"24\"",
    platform: "\"Linux\"",
    languages: "en-US,en;q=0.9",
};

impl Chrome {
    /// The headers of a top-level form navigation (a person submitting a form), lowercase.
    pub fn navigation(&self) -> [(&'static str, &'static str); 10] {
        [
            ("user-agent", self.user_agent),
            ("sec-ch-ua", self.brands),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", self.platform),
            ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("accept-language", self.languages),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
        ]
    }
}
