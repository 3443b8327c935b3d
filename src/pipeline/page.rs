//! Small HTML pages for people: what a browser shows when the gate refuses a form post
//! (JavaScript was off, the check expired, sign-up is closed for a moment), in the visitor's
//! language. API clients get JSON instead (see `decision::ErrorBody`).

use crate::protocol::reject::RejectKind;

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

/// What the wait page says: title, the explanation (with `{n}`, the seconds to wait), the
/// "not yet" status (with `{n}`), the status once the wait is over, and the button.
pub struct WaitText {
    /// Title and the page's one heading.
    pub title: &'static str,
    /// What is happening and how long to wait; `{n}` is the seconds.
    pub body: &'static str,
    /// Shown when Continue came too early; `{n}` is the seconds left.
    pub early: &'static str,
    /// Why it is safe to wait here (nothing was sent yet).
    pub kept: &'static str,
    /// The button.
    pub button: &'static str,
}

/// The wait page's text in `lang`.
pub fn wait_text(lang: Lang) -> WaitText {
    match lang {
        Lang::En => WaitText {
            title: "One moment, please",
            body: "Your browser is not running JavaScript, so instead of a quick automatic check, signing up takes a short wait. Please wait {n} seconds, then press Continue.",
            early: "Not yet: please wait {n} more seconds, then press Continue again.",
            kept: "What you entered is kept on this page; nothing has been sent yet.",
            button: "Continue",
        },
        Lang::ZhCn => WaitText {
            title: "请稍候",
            body: "您的浏览器未运行 JavaScript，因此注册需要短暂等待，以代替快速的自动检查。请等待 {n} 秒，然后点击“继续”。",
            early: "时间未到：请再等待 {n} 秒，然后再次点击“继续”。",
            kept: "您填写的内容保留在此页面上，尚未发送。",
            button: "继续",
        },
        Lang::Es => WaitText {
            title: "Un momento, por favor",
            body: "Tu navegador no está ejecutando JavaScript, así que en lugar de una comprobación automática rápida, el registro requiere una breve espera. Espera {n} segundos y pulsa Continuar.",
            early: "Todavía no: espera {n} segundos más y pulsa Continuar de nuevo.",
            kept: "Lo que escribiste se conserva en esta página; todavía no se ha enviado nada.",
            button: "Continuar",
        },
        Lang::De => WaitText {
            title: "Einen Moment bitte",
            body: "Ihr Browser führt kein JavaScript aus. Statt einer kurzen automatischen Prüfung braucht die Registrierung daher eine kurze Wartezeit. Bitte warten Sie {n} Sekunden und drücken Sie dann auf Weiter.",
            early: "Noch nicht: Bitte warten Sie noch {n} Sekunden und drücken Sie dann erneut auf Weiter.",
            kept: "Ihre Eingaben bleiben auf dieser Seite erhalten; es wurde noch nichts gesendet.",
            button: "Weiter",
        },
        Lang::Ja => WaitText {
            title: "少々お待ちください",
            body: "お使いのブラウザでは JavaScript が動作していないため、自動の簡単なチェックの代わりに、登録の前に少しお待ちいただきます。{n} 秒待ってから「続ける」を押してください。",
            early: "まだです。あと {n} 秒待ってから、もう一度「続ける」を押してください。",
            kept: "入力した内容はこのページに保持されています。まだ何も送信されていません。",
            button: "続ける",
        },
    }
}

/// What the wait page needs: where the form posts, how, what it carries.
#[derive(Clone, Debug)]
pub struct WaitPage<'a> {
    /// Page language.
    pub lang: Lang,
    /// The path (and query) the form was posted to; the page posts back there.
    pub action: &'a str,
    /// Post as `multipart/form-data` (the original form did) instead of URL-encoded.
    pub multipart: bool,
    /// The person's fields, carried as hidden inputs (never the gate's own).
    pub fields: &'a [(String, String)],
    /// The signed wait token (the `gate-wait` field).
    pub token: &'a str,
    /// Seconds to wait.
    pub secs: u64,
    /// Continue was pressed too early: say "not yet".
    pub early: bool,
}

/// The wait page of the no-JavaScript path: one heading, the explanation in a status region,
/// the fields as hidden inputs (names and values escaped), and a "Continue" button posting
/// everything back with the wait token.
pub fn render_wait(w: &WaitPage<'_>) -> String {
    let t = wait_text(w.lang);
    let secs = w.secs.to_string();
    let status = if w.early { t.early } else { t.body }.replace("{n}", &secs);
    let action = if w.action.starts_with('/') && !w.action.starts_with("//") { w.action } else { "/" };
    let enctype = if w.multipart { " enctype=\"multipart/form-data\"" } else { "" };
    let mut hidden = String::new();
    for (name, value) in
        w.fields.iter().filter(|(n, _)| !crate::pipeline::nojs::GATE_FIELDS.contains(&n.as_str()))
    {
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(name),
            escape(value)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"{tag}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <meta name=\"robots\" content=\"noindex\">\n</head>\n<body style=\"font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;background:#fff\">\n\
         <main>\n<h1 id=\"gate-wait-title\">{title}</h1>\n<p role=\"status\" id=\"gate-wait-status\">{status}</p>\n<p>{kept}</p>\n\
         <form method=\"post\" action=\"{action}\"{enctype} aria-labelledby=\"gate-wait-title\" aria-describedby=\"gate-wait-status\">\n\
         {hidden}<input type=\"hidden\" name=\"{field}\" value=\"{token}\">\n\
         <button type=\"submit\" style=\"font:inherit;padding:.5rem 1.25rem;color:#fff;background:#0b57d0;border:0;border-radius:4px\">{button}</button>\n\
         </form>\n</main>\n</body>\n</html>\n",
        tag = w.lang.tag(),
        title = t.title,
        kept = t.kept,
        action = escape(action),
        field = crate::pipeline::nojs::FIELD,
        token = escape(w.token),
        button = t.button,
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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

    #[test]
    fn wait_page_carries_escaped_fields_and_never_the_gates() {
        let fields = vec![
            ("email".to_string(), "a@b.c".to_string()),
            ("x\"><script>".to_string(), "'&<>\"".to_string()),
            ("gate-solution".to_string(), "S".to_string()),
            ("gate-wait".to_string(), "OLD".to_string()),
        ];
        for lang in [Lang::En, Lang::ZhCn, Lang::Es, Lang::De, Lang::Ja] {
            for early in [false, true] {
                let page = render_wait(&WaitPage {
                    lang,
                    action: "/signup?a=\"b",
                    multipart: early,
                    fields: &fields,
                    token: "TOK",
                    secs: 7,
                    early,
                });
                assert!(page.contains(&format!("<html lang=\"{}\">", lang.tag())));
                assert_eq!(page.matches("<h1").count(), 1);
                assert!(page.contains("role=\"status\""));
                assert!(page.contains("7"), "says how long");
                assert!(page.contains("action=\"/signup?a=&quot;b\""));
                assert!(page.contains("<input type=\"hidden\" name=\"email\" value=\"a@b.c\">"));
                assert!(
                    page.contains("name=\"x&quot;&gt;&lt;script&gt;\" value=\"&#39;&amp;&lt;&gt;&quot;\"")
                );
                assert!(!page.contains("<script"));
                assert!(
                    !page.contains("value=\"S\"") && !page.contains("OLD"),
                    "never the gate's own fields"
                );
                assert_eq!(page.matches("name=\"gate-wait\" value=\"TOK\"").count(), 1);
                assert_eq!(page.contains("multipart/form-data"), early);
                assert!(page.contains(wait_text(lang).button));
                assert!(page.contains(wait_text(lang).title));
            }
        }
        let off_site = render_wait(&WaitPage {
            lang: Lang::En,
            action: "//evil.example/",
            multipart: false,
            fields: &[],
            token: "T",
            secs: 1,
            early: false,
        });
        assert!(off_site.contains("action=\"/\""));
    }
}
