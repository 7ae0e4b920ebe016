//! UpdateExpression grammar:
//!
//! ```text
//! update  ::= section+            (each of SET/REMOVE/ADD/DELETE at most once)
//! SET     ::= path '=' value (',' path '=' value)*
//! value   ::= operand | operand '+' operand | operand '-' operand
//! operand ::= path | :v | if_not_exists(path, operand) | list_append(operand, operand)
//! REMOVE  ::= path (',' path)*
//! ADD     ::= path :v (',' path :v)*       DELETE likewise
//! ```
//!
//! After parsing, every pair of target paths is checked: one being a prefix
//! of the other is an overlap, a map key and a list index at the same step a
//! conflict — DynamoDB rejects both before touching the item.

use super::ast::{Path, SetValue, Update, UpdateAction, UpdateOperand};
use super::lexer::Tok;
use super::parser::{Parser, Prio, overlap_message};
use super::{ExprError, ExprKind, Placeholders};
use crate::model::Value;

const SECTIONS: [&str; 4] = ["SET", "REMOVE", "ADD", "DELETE"];

impl Parser<'_, '_, '_> {
    pub(super) fn update(&mut self) -> Result<Update, ExprError> {
        let mut seen = [false; 4];
        let mut actions = Vec::new();
        loop {
            let Some(section) = SECTIONS.iter().position(|s| self.at_keyword(s)) else {
                return Err(self.syntax_error());
            };
            if seen[section] {
                return Err(ExprError::invalid(
                    self.kind,
                    format!(
                        "The \"{}\" section can only be used once in an update expression;",
                        SECTIONS[section]
                    ),
                ));
            }
            seen[section] = true;
            self.bump();
            loop {
                let path = self.path()?;
                let action = match section {
                    0 => {
                        self.expect(Tok::Eq)?;
                        UpdateAction::Set(path, self.set_value()?)
                    }
                    1 => UpdateAction::Remove(path),
                    2 | 3 => {
                        if self.peek() != Tok::Value {
                            return Err(self.syntax_error());
                        }
                        let id = self.value()?;
                        self.check_add_delete(section == 2, &self.consts[id as usize].clone());
                        if section == 2 {
                            UpdateAction::Add(path, id)
                        } else {
                            UpdateAction::Delete(path, id)
                        }
                    }
                    _ => unreachable!("four sections"),
                };
                actions.push(action);
                if self.peek() != Tok::Comma {
                    break;
                }
                self.bump();
            }
            if self.peek() == Tok::Eof {
                break;
            }
        }
        self.check_overlaps(&actions);
        self.collected_error()?;
        Ok(Update {
            actions,
            consts: std::mem::take(&mut self.consts),
        })
    }

    fn check_add_delete(&mut self, add: bool, value: &Value) {
        let allowed = match value {
            Value::Ss(_) | Value::Ns(_) | Value::Bs(_) => true,
            Value::N(_) => add,
            _ => false,
        };
        if !allowed {
            let long = match value {
                Value::S(_) => "STRING",
                Value::N(_) => "NUMBER",
                Value::B(_) => "BINARY",
                Value::Bool(_) => "BOOLEAN",
                Value::Null => "NULL",
                Value::M(_) => "MAP",
                Value::L(_) => "LIST",
                _ => "SET",
            };
            let op = if add { "ADD" } else { "DELETE" };
            self.note(
                Prio::Function,
                format!(
                    "Incorrect operand type for operator or function; operator: {op}, operand type: {long}, typeSet: ALLOWED_FOR_{op}_OPERAND"
                ),
            );
        }
    }

    fn set_value(&mut self) -> Result<SetValue, ExprError> {
        let left = self.update_operand()?;
        let op = self.peek();
        if op != Tok::Plus && op != Tok::Minus {
            return Ok(SetValue::Operand(left));
        }
        self.bump();
        self.count_operator()?;
        let right = self.update_operand()?;
        let symbol = if op == Tok::Plus { "+" } else { "-" };
        // Only if_not_exists may be an operand of + and -.
        for operand in [&left, &right] {
            if let UpdateOperand::ListAppend(..) = operand {
                self.note(
                    Prio::MisusedFunction,
                    "The function is not allowed to be used this way in an expression; function: list_append"
                        .to_string(),
                );
            }
        }
        // Within one operation the first bad operand is reported.
        if !self.check_literal(&left, symbol, "N") {
            self.check_literal(&right, symbol, "N");
        }
        Ok(if op == Tok::Plus {
            SetValue::Plus(left, right)
        } else {
            SetValue::Minus(left, right)
        })
    }

    /// A literal operand of `+`, `-` or `list_append` must have the type the
    /// operator needs.
    /// Returns whether it noted an error.
    fn check_literal(&mut self, operand: &UpdateOperand, function: &str, needed: &str) -> bool {
        if let UpdateOperand::Value(id) = operand {
            let t = self.consts[*id as usize].type_name();
            if t != needed {
                self.note(
                    Prio::Function,
                    format!(
                        "Incorrect operand type for operator or function; operator or function: {function}, operand type: {t}"
                    ),
                );
                return true;
            }
        }
        false
    }

    fn update_operand(&mut self) -> Result<UpdateOperand, ExprError> {
        match self.peek() {
            Tok::Value => Ok(UpdateOperand::Value(self.value()?)),
            Tok::Ident if self.peek_at(1) == Tok::LParen => self.update_function(),
            Tok::Ident | Tok::Name => Ok(UpdateOperand::Path(self.path()?)),
            _ => Err(self.syntax_error()),
        }
    }

    fn update_function(&mut self) -> Result<UpdateOperand, ExprError> {
        let name_at = self.bump();
        let name = self.text(name_at);
        self.count_operator()?;
        self.expect(Tok::LParen)?;
        self.enter()?;
        let mut args = Vec::new();
        if self.peek() != Tok::RParen {
            loop {
                args.push(self.update_operand()?);
                if self.peek() != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        self.expect(Tok::RParen)?;
        self.leave();
        // list_append is allowed only as a SET value or an operand of
        // +/- (refused there in `set_value`), never inside a function.
        if args
            .iter()
            .any(|a| matches!(a, UpdateOperand::ListAppend(..)))
        {
            self.note(
                Prio::MisusedFunction,
                "The function is not allowed to be used this way in an expression; function: list_append"
                    .to_string(),
            );
        }
        let placeholder = || UpdateOperand::Path(Path(Vec::new()));
        if name != "if_not_exists" && name != "list_append" {
            self.note(
                Prio::UnknownFunction,
                format!("Invalid function name; function: {name}"),
            );
            return Ok(placeholder());
        }
        if args.len() != 2 {
            self.note(
                Prio::Operand,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                    args.len()
                ),
            );
            return Ok(placeholder());
        }
        let second = args.pop().map(Box::new);
        let first = args.pop();
        let (Some(first), Some(second)) = (first, second) else {
            return Ok(placeholder());
        };
        if name == "if_not_exists" {
            let UpdateOperand::Path(path) = first else {
                self.note(
                    Prio::Function,
                    "Operator or function requires a document path; operator or function: if_not_exists"
                        .to_string(),
                );
                return Ok(placeholder());
            };
            return Ok(UpdateOperand::IfNotExists(path, second));
        }
        if !self.check_literal(&first, "list_append", "L") {
            self.check_literal(&second, "list_append", "L");
        }
        Ok(UpdateOperand::ListAppend(Box::new(first), second))
    }

    fn check_overlaps(&mut self, actions: &[UpdateAction]) {
        let paths: Vec<&Path> = actions.iter().map(UpdateAction::path).collect();
        if let Some(message) = overlap_message(&paths) {
            self.note(message.0, message.1);
        }
    }
}

/// Parses an UpdateExpression.
pub fn parse_update(src: &str, ph: &mut Placeholders<'_>) -> Result<Update, ExprError> {
    Parser::new(src, ExprKind::Update, ph)?.update()
}
