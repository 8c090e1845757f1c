//! The form an expression runs in: its condition tree laid out as a flat list of steps with
//! short-circuit jumps, evaluated in one loop. A rule is mostly `and`s, `or`s and `not`s of
//! field tests; walking them as a tree costs a call per node, which is most of the time spent
//! on a rule that does not match.

use super::fields::Field;
use super::tree::{Cond, Test};
use crate::facts::RequestFacts;

/// A compiled condition, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    steps: Box<[Step]>,
}

#[derive(Debug, Clone)]
enum Step {
    /// The result becomes the test on the field.
    Test(Field, Test),
    /// The result becomes the constant.
    Const(bool),
    /// The result is negated.
    Not,
    /// When the result is false, go on at the step (an `and` that is already false).
    JumpIfFalse(usize),
    /// When the result is true, go on at the step (an `or` that is already true).
    JumpIfTrue(usize),
    /// The result becomes the condition, evaluated as a tree (`any()`, `all()`, `xor`, tests
    /// of computed values: the rarer forms).
    Tree(Cond),
}

impl Program {
    /// Lays out `cond`.
    pub(crate) fn new(cond: Cond) -> Program {
        let mut steps = Vec::new();
        emit(cond, &mut steps);
        Program {
            steps: steps.into_boxed_slice(),
        }
    }

    /// Whether the condition holds for the request.
    pub(crate) fn run(&self, facts: &RequestFacts<'_>) -> bool {
        let mut result = false;
        let mut at = 0;
        // Every jump goes forward, so the loop ends after at most one pass over the steps.
        while let Some(step) = self.steps.get(at) {
            at += 1;
            match step {
                Step::Test(field, test) => result = test.holds_on(*field, facts),
                Step::JumpIfFalse(to) => {
                    if !result {
                        at = *to;
                    }
                }
                Step::JumpIfTrue(to) => {
                    if result {
                        at = *to;
                    }
                }
                Step::Not => result = !result,
                Step::Const(b) => result = *b,
                Step::Tree(cond) => result = cond.eval(facts, None),
            }
        }
        result
    }
}

fn emit(cond: Cond, steps: &mut Vec<Step>) {
    match cond {
        Cond::FieldTest(field, test) => steps.push(Step::Test(field, test)),
        Cond::Const(b) => steps.push(Step::Const(b)),
        Cond::Not(inner) => {
            emit(*inner, steps);
            steps.push(Step::Not);
        }
        Cond::And(operands) => emit_chain(operands, true, steps),
        Cond::Or(operands) => emit_chain(operands, false, steps),
        other => steps.push(Step::Tree(other)),
    }
}

/// `a and b and c` as `a; jump-if-false end; b; jump-if-false end; c; end:` (`or` alike, on
/// true). No operands: the identity (`true` for `and`, `false` for `or`).
fn emit_chain(operands: Box<[Cond]>, all: bool, steps: &mut Vec<Step>) {
    if operands.is_empty() {
        steps.push(Step::Const(all));
        return;
    }
    let mut jumps = Vec::new();
    for (i, operand) in operands.into_vec().into_iter().enumerate() {
        if i > 0 {
            jumps.push(steps.len());
            steps.push(if all {
                Step::JumpIfFalse(0)
            } else {
                Step::JumpIfTrue(0)
            });
        }
        emit(operand, steps);
    }
    let end = steps.len();
    for jump in jumps {
        if let Some(Step::JumpIfFalse(to) | Step::JumpIfTrue(to)) = steps.get_mut(jump) {
            *to = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(b: bool) -> Cond {
        Cond::Const(b)
    }

    /// Every shape of `and`/`or`/`not` over constants gives what the tree gives.
    #[test]
    fn runs_like_the_tree() {
        let facts = RequestFacts::new("GET", "/");
        let mut shapes = Vec::new();
        for a in [false, true] {
            for b in [false, true] {
                for c in [false, true] {
                    shapes.push(Cond::And(vec![t(a), t(b), t(c)].into()));
                    shapes.push(Cond::Or(vec![t(a), t(b), t(c)].into()));
                    shapes.push(Cond::And(
                        vec![t(a), Cond::Or(vec![t(b), Cond::Not(Box::new(t(c)))].into())].into(),
                    ));
                    shapes.push(Cond::Or(
                        vec![
                            Cond::And(vec![t(a), t(b)].into()),
                            Cond::Not(Box::new(t(c))),
                        ]
                        .into(),
                    ));
                    shapes.push(Cond::Not(Box::new(Cond::And(
                        vec![Cond::Or(vec![t(a), t(b)].into()), t(c)].into(),
                    ))));
                }
            }
        }
        shapes.push(Cond::And(Box::new([])));
        shapes.push(Cond::Or(Box::new([])));
        shapes.push(Cond::FieldTest(Field::BotSpoofed, Test::BoolEq(false)));
        for shape in shapes {
            let tree = shape.eval(&facts, None);
            assert_eq!(Program::new(shape.clone()).run(&facts), tree, "{shape:?}");
        }
    }
}
