use super::prelude::*;

/// Comparison operators of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    GreaterOrEqual,
    LessOrEqual,
    Contains,
    StartsWith,
    EndsWith,
    Exists,
    NotExists,
    IsEmpty,
    IsTrue,
    IsFalse,
    IsDate,
    IsMorning,
    IsAfternoon,
    IsWeekend,
    IsOddWeek,
    IsEvenWeek,
    Regex,
}

impl Operator {
    /// Whether the operator compares against a value.
    pub fn takes_operand(self) -> bool {
        matches!(
            self,
            Operator::Equals
                | Operator::NotEquals
                | Operator::GreaterOrEqual
                | Operator::LessOrEqual
                | Operator::Contains
                | Operator::StartsWith
                | Operator::EndsWith
                | Operator::Regex
        )
    }
}

/// Longest user regular expression, in characters.
pub const REGEX_MAX_LEN: usize = 1_000;
/// Compiled-size limit of a user regular expression, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Compiles a user pattern with the size limits every regular expression of a routing obeys.
pub fn compile_user_regex(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.chars().count() > REGEX_MAX_LEN {
        return Err(format!("the pattern is longer than {REGEX_MAX_LEN} characters"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// One condition.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The value tested, usually a variable: `{{ customer.segment }}`.
    pub value: Template<1, 1_000>,
    pub operator: Operator,
    /// The value compared against (binary operators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operand: Option<Template<0, 1_000>>,
}

/// Tests conditions on values.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestValues {
    #[serde(default, rename = "match")]
    pub match_: Match,
    pub conditions: List<Condition, 1, 20>,
}

impl ActionType for TestValues {
    const TYPE: &'static str = "test_values";
    const LABEL: &'static str = "Test a value(s)";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Evaluates conditions (AND / OR) and branches on the result.";
    const BRANCHES: &'static [BranchDef] = branches![yes "Yes", no "No", error "Error"];
    const RUNS: bool = true;

    fn runner(self) -> Option<Box<dyn Run>> {
        let regexes = self
            .conditions
            .iter()
            .map(|c| match (c.operator, &c.operand) {
                (Operator::Regex, Some(p)) => compile_user_regex(&p.0).ok(),
                _ => None,
            })
            .collect();
        Some(Box::new(TestValuesRun { params: self, regexes }))
    }

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        for (i, c) in self.conditions.iter().enumerate() {
            let path = format!("conditions[{i}]");
            match (c.operator.takes_operand(), &c.operand) {
                (true, None) => issues.push(ParamIssue::new(format!("{path}.operand"), "this operator needs a value to compare with")),
                (false, Some(_)) => issues.push(ParamIssue::new(format!("{path}.operand"), "this operator takes no value")),
                _ => {}
            }
            if let (Operator::Regex, Some(p)) = (c.operator, &c.operand)
                && let Err(e) = compile_user_regex(&p.0)
            {
                issues.push(ParamIssue::new(format!("{path}.operand"), format!("invalid regular expression: {e}")));
            }
        }
    }
}

/// Test a value(s), ready to run: its regular expressions are compiled once, with the limits.
#[derive(Debug)]
pub struct TestValuesRun {
    params: TestValues,
    regexes: Vec<Option<regex::Regex>>,
}

fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = if t.contains(',') && !t.contains('.') { t.replacen(',', ".", 1) } else { t.to_owned() };
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn truth(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The variable named by a value that is exactly one placeholder (`{{ customer.email }}`).
fn single_placeholder(value: &str) -> Option<&str> {
    let inner = value.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{")).then(|| inner.trim())
}

impl TestValuesRun {
    /// One condition: `Ok(true/false)`, or `Err(reason)` when the values cannot be compared.
    fn eval(&self, cx: &mut dyn Cx, i: usize) -> Result<bool, &'static str> {
        let c = &self.params.conditions[i];
        let left = cx.render(&c.value.0);
        let right = c.operand.as_ref().map(|o| cx.render(&o.0)).unwrap_or_default();
        let tz = cx.time_zone().clone();
        let when = || if left.trim().is_empty() { Some(cx.now().to_zoned(tz.clone())) } else { crate::exec::parse_when(&left, &tz) };
        let ordered = |want: std::cmp::Ordering| -> Result<bool, &'static str> {
            if let (Some(a), Some(b)) = (number(&left), number(&right)) {
                return Ok(a.partial_cmp(&b).is_some_and(|o| o == want || o == std::cmp::Ordering::Equal));
            }
            match (crate::exec::parse_when(&left, &tz), crate::exec::parse_when(&right, &tz)) {
                (Some(a), Some(b)) => Ok(a.cmp(&b) == want || a == b),
                _ => Err("values_not_comparable"),
            }
        };
        Ok(match c.operator {
            Operator::Equals => match (number(&left), number(&right)) {
                (Some(a), Some(b)) => a == b,
                _ => left == right,
            },
            Operator::NotEquals => match (number(&left), number(&right)) {
                (Some(a), Some(b)) => a != b,
                _ => left != right,
            },
            Operator::GreaterOrEqual => ordered(std::cmp::Ordering::Greater)?,
            Operator::LessOrEqual => ordered(std::cmp::Ordering::Less)?,
            Operator::Contains => left.contains(&right),
            Operator::StartsWith => left.starts_with(&right),
            Operator::EndsWith => left.ends_with(&right),
            Operator::Exists | Operator::NotExists => {
                let exists = match single_placeholder(&c.value.0) {
                    Some(path) => cx.get(path).is_some_and(|v| !v.is_null()),
                    None => !left.is_empty(),
                };
                exists == (c.operator == Operator::Exists)
            }
            Operator::IsEmpty => left.trim().is_empty(),
            Operator::IsTrue => truth(&left) == Some(true),
            Operator::IsFalse => truth(&left) == Some(false),
            Operator::IsDate => crate::exec::parse_when(&left, &tz).is_some(),
            Operator::IsMorning => when().ok_or("not_a_date")?.hour() < 12,
            Operator::IsAfternoon => when().ok_or("not_a_date")?.hour() >= 12,
            Operator::IsWeekend => matches!(when().ok_or("not_a_date")?.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday),
            Operator::IsOddWeek => !crate::exec::iso_week_is_even(&when().ok_or("not_a_date")?),
            Operator::IsEvenWeek => crate::exec::iso_week_is_even(&when().ok_or("not_a_date")?),
            Operator::Regex => self.regexes[i].as_ref().ok_or("invalid_regex")?.is_match(&left),
        })
    }
}

impl Run for TestValuesRun {
    /// *Yes* when all (AND) or any (OR) conditions hold, *No* otherwise, *Error* when a
    /// condition cannot be evaluated (values that cannot be ordered, a date that is not one).
    /// Times of day and weekdays are read in the deployment's time zone; an empty value means now.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let mut results = Vec::with_capacity(self.params.conditions.len());
        for i in 0..self.params.conditions.len() {
            match self.eval(cx, i) {
                Ok(r) => results.push(r),
                Err(reason) => {
                    cx.set_error(reason);
                    return Step::Branch("error");
                }
            }
        }
        let pass = match self.params.match_ {
            Match::All => results.iter().all(|r| *r),
            Match::Any => results.iter().any(|r| *r),
        };
        Step::Branch(if pass { "yes" } else { "no" })
    }
}
