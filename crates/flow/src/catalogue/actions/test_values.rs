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
