//! Small HTML pages for people: what a browser shows when the gate refuses a form post
//! (JavaScript was off, the check expired, sign-up is closed for a moment), in the visitor's
//! language. API clients get JSON instead (see `decision::ErrorBody`).

use crate::decision::RejectKind;

/// Languages the gate's pages and the widget speak.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
    /// Spanish.
    Es,
    /// German.
    De,
    /// Japanese.
    Ja,
}

impl Lang {
    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
            Lang::Es => "es",
            Lang::De => "de",
            Lang::Ja => "ja",
        }
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        let base = tag.split(['-', '_']).next().unwrap_or("");
        match base {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::ZhCn),
            "es" => Some(Lang::Es),
            "de" => Some(Lang::De),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }
}

/// The best supported language for an `Accept-Language` header (by q-value, then order).
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let mut best: Option<(u32, Lang)> = None;
    for item in accept_language.unwrap_or("").split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("");
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let q = (q.clamp(0.0, 1.0) * 1000.0) as u32;
        if let Some(lang) = Lang::from_tag(tag)
            && q > 0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::En, |(_, l)| l)
}

/// Whether to answer with a page rather than JSON: a browser navigation (a form post).
pub fn wants_html(accept: Option<&str>, sec_fetch_mode: Option<&str>) -> bool {
    if sec_fetch_mode.is_some_and(|m| m.eq_ignore_ascii_case("navigate")) {
        return true;
    }
    let accept = accept.unwrap_or("");
    accept.contains("text/html") && !accept.contains("application/json")
}

/// Title and explanation for a refusal, in `lang`.
pub fn text(kind: RejectKind, lang: Lang) -> (&'static str, &'static str) {
    use RejectKind as K;
    enum Case {
        Denied,
        NoScript,
        Retry,
        TooLarge,
        Closed,
        Other,
    }
    let case = match kind {
        K::MissingSolution => Case::NoScript,
        K::MalformedSolution
        | K::UnsupportedVersion
        | K::UnknownKey
        | K::BadSignature
        | K::Expired
        | K::NotYetValid
        | K::WrongRoute
        | K::BindingMismatch
        | K::InsufficientWork
        | K::AlreadySpent
        | K::RiskIncreased => Case::Retry,
        K::TooLarge => Case::TooLarge,
        K::LedgerUnavailable | K::Misconfigured | K::OriginUnavailable | K::Busy => Case::Closed,
        K::Denied => Case::Denied,
        _ => Case::Other,
    };
    match (case, lang) {
        (Case::Denied, Lang::En) => (
            "We couldn't accept this sign-up",
            "This sign-up looked automated, so it was not sent. If you are signing up yourself, please use your usual browser, with JavaScript on, from your usual network, and try again.",
        ),
        (Case::Denied, Lang::ZhCn) => (
            "无法接受此次注册",
            "此次注册看起来像是自动程序提交的，因此没有被发送。如果是您本人注册，请使用常用的浏览器（启用 JavaScript）并通过常用网络重试。",
        ),
        (Case::Denied, Lang::Es) => (
            "No pudimos aceptar este registro",
            "Este registro parecía automatizado, así que no se envió. Si te estás registrando tú, usa tu navegador habitual, con JavaScript activado, desde tu red habitual, e inténtalo de nuevo.",
        ),
        (Case::Denied, Lang::De) => (
            "Diese Registrierung konnte nicht angenommen werden",
            "Diese Registrierung wirkte automatisiert und wurde daher nicht gesendet. Wenn Sie sich selbst registrieren, verwenden Sie bitte Ihren gewohnten Browser mit aktiviertem JavaScript in Ihrem gewohnten Netzwerk und versuchen Sie es erneut.",
        ),
        (Case::Denied, Lang::Ja) => (
            "この登録を受け付けられませんでした",
            "この登録は自動化されたものと判断されたため、送信されませんでした。ご本人による登録の場合は、普段お使いのブラウザ（JavaScript を有効にした状態）と普段のネットワークから、もう一度お試しください。",
        ),
        (Case::NoScript, Lang::En) => (
            "Please turn on JavaScript",
            "Signing up runs a short, private security check in your browser, and it needs JavaScript. Turn on JavaScript, go back, and send the form again.",
        ),
        (Case::NoScript, Lang::ZhCn) => (
            "请启用 JavaScript",
            "注册时会在您的浏览器中运行一项简短、私密的安全检查，需要 JavaScript。请启用 JavaScript，返回并重新提交表单。",
        ),
        (Case::NoScript, Lang::Es) => (
            "Activa JavaScript",
            "Para registrarte, tu navegador realiza una breve comprobación de seguridad privada que necesita JavaScript. Activa JavaScript, vuelve atrás y envía el formulario de nuevo.",
        ),
        (Case::NoScript, Lang::De) => (
            "Bitte aktivieren Sie JavaScript",
            "Bei der Registrierung läuft in Ihrem Browser eine kurze, private Sicherheitsprüfung, die JavaScript benötigt. Aktivieren Sie JavaScript, gehen Sie zurück und senden Sie das Formular erneut.",
        ),
        (Case::NoScript, Lang::Ja) => (
            "JavaScript を有効にしてください",
            "登録時にはブラウザ内で短いセキュリティチェックを実行するため、JavaScript が必要です。JavaScript を有効にしてから戻り、フォームをもう一度送信してください。",
        ),
        (Case::Retry, Lang::En) => (
            "Please try again",
            "The security check for this form has expired or was already used. Go back and send the form again.",
        ),
        (Case::Retry, Lang::ZhCn) => ("请重试", "此表单的安全检查已过期或已被使用。请返回并重新提交表单。"),
        (Case::Retry, Lang::Es) => (
            "Inténtalo de nuevo",
            "La comprobación de seguridad de este formulario ha caducado o ya se usó. Vuelve atrás y envía el formulario de nuevo.",
        ),
        (Case::Retry, Lang::De) => (
            "Bitte versuchen Sie es erneut",
            "Die Sicherheitsprüfung für dieses Formular ist abgelaufen oder wurde bereits verwendet. Gehen Sie zurück und senden Sie das Formular erneut.",
        ),
        (Case::Retry, Lang::Ja) => (
            "もう一度お試しください",
            "このフォームのセキュリティチェックは期限切れか、すでに使用されています。戻ってフォームをもう一度送信してください。",
        ),
        (Case::TooLarge, Lang::En) => (
            "The form is too large",
            "What you sent is larger than this form accepts. Go back, shorten it, and send it again.",
        ),
        (Case::TooLarge, Lang::ZhCn) => {
            ("表单内容过大", "您提交的内容超过了此表单的限制。请返回，缩短内容后重新提交。")
        }
        (Case::TooLarge, Lang::Es) => (
            "El formulario es demasiado grande",
            "Lo que enviaste supera el tamaño que acepta este formulario. Vuelve atrás, acórtalo y envíalo de nuevo.",
        ),
        (Case::TooLarge, Lang::De) => (
            "Das Formular ist zu groß",
            "Ihre Eingaben sind größer, als dieses Formular annimmt. Gehen Sie zurück, kürzen Sie sie und senden Sie erneut.",
        ),
        (Case::TooLarge, Lang::Ja) => (
            "フォームの内容が大きすぎます",
            "送信内容がこのフォームの上限を超えています。戻って内容を短くし、もう一度送信してください。",
        ),
        (Case::Closed, Lang::En) => (
            "Sign-up is busy",
            "Registration is temporarily unavailable. Please try again in a few minutes. Logging in still works.",
        ),
        (Case::Closed, Lang::ZhCn) => ("注册繁忙", "注册暂时不可用，请几分钟后再试。登录不受影响。"),
        (Case::Closed, Lang::Es) => (
            "El registro está ocupado",
            "El registro no está disponible temporalmente. Inténtalo de nuevo en unos minutos. Iniciar sesión sigue funcionando.",
        ),
        (Case::Closed, Lang::De) => (
            "Registrierung ausgelastet",
            "Die Registrierung ist vorübergehend nicht verfügbar. Bitte versuchen Sie es in einigen Minuten erneut. Die Anmeldung funktioniert weiterhin.",
        ),
        (Case::Closed, Lang::Ja) => (
            "登録が混み合っています",
            "現在、登録を一時的に受け付けていません。数分後にもう一度お試しください。ログインは引き続きご利用いただけます。",
        ),
        (Case::Other, Lang::En) => {
            ("Something went wrong", "This request could not be completed. Go back and try again.")
        }
        (Case::Other, Lang::ZhCn) => ("出现问题", "无法完成此请求。请返回后重试。"),
        (Case::Other, Lang::Es) => {
            ("Algo salió mal", "No se pudo completar esta solicitud. Vuelve atrás e inténtalo de nuevo.")
        }
        (Case::Other, Lang::De) => (
            "Etwas ist schiefgelaufen",
            "Diese Anfrage konnte nicht abgeschlossen werden. Gehen Sie zurück und versuchen Sie es erneut.",
        ),
        (Case::Other, Lang::Ja) => {
            ("問題が発生しました", "このリクエストを完了できませんでした。戻ってもう一度お試しください。")
        }
    }
}

/// A complete, self-contained, accessible HTML page for a refusal. `back` is where the
/// "go back" link points: a same-site path (e.g. the form page from `Referer`), else `/`.
pub fn render(kind: RejectKind, lang: Lang, back: Option<&str>) -> String {
    let href = back.filter(|b| b.starts_with('/') && !b.starts_with("//")).unwrap_or("/");
    let href = escape(href);
    let (title, body) = text(kind, lang);
    let back = match lang {
        Lang::En => "Go back",
        Lang::ZhCn => "返回",
        Lang::Es => "Volver",
        Lang::De => "Zurück",
        Lang::Ja => "戻る",
    };
    format!(
        "<!doctype html>\n<html lang=\"{tag}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <meta name=\"robots\" content=\"noindex\">\n</head>\n<body style=\"font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;background:#fff\">\n\
         <main>\n<h1>{title}</h1>\n<p>{body}</p>\n<p><a href=\"{href}\" style=\"color:#0b57d0\">{back}</a></p>\n\
         <p style=\"color:#555;font-size:.875rem\">{code}</p>\n</main>\n</body>\n</html>\n",
        tag = lang.tag(),
        code = kind.code(),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_table() {
        let cases = [
            (None, Lang::En),
            (Some(""), Lang::En),
            (Some("de-DE,de;q=0.9,en;q=0.8"), Lang::De),
            (Some("fr-FR,fr;q=0.9,ja;q=0.5,en;q=0.4"), Lang::Ja),
            (Some("zh-TW"), Lang::ZhCn),
            (Some("en;q=0.1, es;q=0.9"), Lang::Es),
            (Some("pt-BR"), Lang::En),
            (Some("de;q=0"), Lang::En),
            (Some("ja;q=bogus"), Lang::Ja),
        ];
        for (header, want) in cases {
            assert_eq!(negotiate(header), want, "{header:?}");
        }
    }

    #[test]
    fn html_only_for_navigations() {
        assert!(wants_html(Some("text/html,application/xhtml+xml"), None));
        assert!(wants_html(Some("*/*"), Some("navigate")));
        assert!(!wants_html(Some("application/json"), None));
        assert!(!wants_html(Some("*/*"), Some("cors")));
        assert!(!wants_html(None, None));
    }

    #[test]
    fn back_links_stay_on_site() {
        for (back, want) in [
            (None, "/"),
            (Some("https://evil.example/"), "/"),
            (Some("//evil.example"), "/"),
            (Some("/signup"), "/signup"),
        ] {
            assert!(
                render(RejectKind::Expired, Lang::En, back).contains(&format!("href=\"{want}\"")),
                "{back:?}"
            );
        }
    }

    #[test]
    fn every_kind_and_language_renders() {
        for kind in RejectKind::ALL {
            for lang in [Lang::En, Lang::ZhCn, Lang::Es, Lang::De, Lang::Ja] {
                let page = render(kind, lang, Some("/signup?x=\"<y>"));
                assert!(page.contains("href=\"/signup?x=&quot;&lt;y&gt;\""));
                assert!(page.contains(&format!("lang=\"{}\"", lang.tag())));
                assert!(page.contains(kind.code()));
                assert!(!text(kind, lang).0.is_empty());
            }
        }
    }
}
