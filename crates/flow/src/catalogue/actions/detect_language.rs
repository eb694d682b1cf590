use super::prelude::*;

/// Branches on the language of the email.
///
/// Designed here (the seed names it only): Link k is taken when the email is written in the
/// k-th language of the list with at least the minimum confidence; otherwise *By default*.
/// The detected ISO 639-1 code can be stored in a variable.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectLanguage {
    /// ISO 639-1 codes (`en`, `fr`, …), one per link.
    pub languages: List<Text<2, 2>, 1, 10>,
    /// Minimum confidence in percent.
    #[serde(default = "fifty")]
    pub min_confidence: Int<0, 100>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_in: Option<VarTarget>,
}

fn fifty() -> Int<0, 100> {
    Int(50)
}

impl ActionType for DetectLanguage {
    const TYPE: &'static str = "detect_language";
    const LABEL: &'static str = "Detection of the language";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = EMAIL;
    const DESCRIPTION: &'static str = "Detects the language of the email and branches on it.";
    const BRANCHES: &'static [BranchDef] = branches![links, by_default "By default"];

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        for (i, code) in self.languages.iter().enumerate() {
            if !code.0.chars().all(|c| c.is_ascii_lowercase()) {
                issues.push(ParamIssue::new(format!("languages[{i}]"), "a language is a lower-case ISO 639-1 code such as 'en'"));
            } else if detector_code(&code.0).is_none() {
                issues.push(ParamIssue::new(format!("languages[{i}]"), format!("'{}' is not a language the detector knows (ISO 639-1: {})", code.0, KNOWN.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "))));
            } else if self.languages[..i].contains(code) {
                issues.push(ParamIssue::new(format!("languages[{i}]"), format!("'{}' is listed twice", code.0)));
            }
        }
    }

    fn branch_reachable(&self, branch: &str) -> bool {
        link_index(branch).is_none_or(|k| k <= self.languages.len())
    }

    runs_itself!();
}

impl Run for DetectLanguage {
    /// Detects the language of the subject and body (their first [`SAMPLE`] characters) with
    /// whatlang over every language it knows; below `min_confidence` (whatlang's confidence, in
    /// percent) nothing is detected. The detected code — listed or not, `""` when nothing is
    /// detected — goes in `store_in`; the link of the listed language, else *By default*.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let detected = crate::exec::email_of(cx).and_then(|e| {
            let sample: String = format!("{}\n{}", e.subject, e.text).chars().take(SAMPLE).collect();
            let info = whatlang::detect(&sample)?;
            (info.confidence() * 100.0 >= self.min_confidence.0 as f64)
                .then(|| iso_639_1(info.lang().code()))
                .flatten()
        });
        if let Some(target) = &self.store_in
            && let Err(reason) = cx.set(&target.0, Value::String(detected.unwrap_or_default().to_owned()))
        {
            cx.set_error(&reason);
        }
        match detected.and_then(|d| self.languages.iter().position(|l| l.0 == d)) {
            Some(k) => Step::Branch(LINKS[k]),
            None => Step::Branch("by_default"),
        }
    }
}

/// Characters of the email the detection reads.
pub const SAMPLE: usize = 10_000;

/// The languages the detector knows: ISO 639-1 and the detector's ISO 639-3 code.
pub const KNOWN: &[(&str, &str)] = &[
    ("af", "afr"), ("ak", "aka"), ("am", "amh"), ("ar", "ara"), ("az", "aze"), ("be", "bel"),
    ("bg", "bul"), ("bn", "ben"), ("ca", "cat"), ("cs", "ces"), ("cy", "cym"), ("da", "dan"),
    ("de", "deu"), ("el", "ell"), ("en", "eng"), ("eo", "epo"), ("es", "spa"), ("et", "est"),
    ("fa", "pes"), ("fi", "fin"), ("fr", "fra"), ("gu", "guj"), ("he", "heb"), ("hi", "hin"),
    ("hr", "hrv"), ("hu", "hun"), ("hy", "hye"), ("id", "ind"), ("it", "ita"), ("ja", "jpn"),
    ("jv", "jav"), ("ka", "kat"), ("km", "khm"), ("kn", "kan"), ("ko", "kor"), ("la", "lat"),
    ("lt", "lit"), ("lv", "lav"), ("mk", "mkd"), ("ml", "mal"), ("mr", "mar"), ("my", "mya"),
    ("nb", "nob"), ("ne", "nep"), ("nl", "nld"), ("or", "ori"), ("pa", "pan"), ("pl", "pol"),
    ("pt", "por"), ("ro", "ron"), ("ru", "rus"), ("si", "sin"), ("sk", "slk"), ("sl", "slv"),
    ("sn", "sna"), ("sr", "srp"), ("sv", "swe"), ("ta", "tam"), ("te", "tel"), ("th", "tha"),
    ("tk", "tuk"), ("tl", "tgl"), ("tr", "tur"), ("uk", "ukr"), ("ur", "urd"), ("uz", "uzb"),
    ("vi", "vie"), ("yi", "yid"), ("zh", "cmn"), ("zu", "zul"),
];

fn detector_code(iso_639_1: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(c, _)| *c == iso_639_1).map(|(_, d)| *d)
}

fn iso_639_1(detector: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(_, d)| *d == detector).map(|(c, _)| *c)
}
