//! The generic API's objects and its per-request failure counters.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Objects created through `POST /http/objects`, in order, and how often each failing
/// route has failed.
#[derive(Debug, Default)]
pub struct State {
    objects: Vec<Value>,
    by_key: HashMap<String, usize>,
    failures: HashMap<String, u32>,
}

impl State {
    /// Creates an object from `body`, or, when `key` created one before, returns that one
    /// unchanged; `true` when it is new.
    pub fn create(&mut self, body: Map<String, Value>, key: Option<&str>) -> (Value, bool) {
        if let Some(&i) = key.and_then(|k| self.by_key.get(k)) {
            return (self.objects[i].clone(), false);
        }
        let mut object = body;
        object.insert(
            "id".into(),
            format!("obj_{}", self.objects.len() + 1).into(),
        );
        object
            .entry("state")
            .or_insert_with(|| Value::from("PROCESSING"));
        object.insert(
            "idempotency_key".into(),
            key.map_or(Value::Null, Value::from),
        );
        if let Some(k) = key {
            self.by_key.insert(k.to_string(), self.objects.len());
        }
        self.objects.push(Value::Object(object));
        (self.objects[self.objects.len() - 1].clone(), true)
    }

    /// The object with `id`.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.objects.iter().find(|o| o["id"] == id)
    }

    /// The first object whose `ref` is `reference`.
    pub fn by_ref(&self, reference: &str) -> Option<&Value> {
        self.objects.iter().find(|o| o["ref"] == reference)
    }

    /// Every object, oldest first.
    pub fn all(&self) -> &[Value] {
        &self.objects
    }

    /// Counts one more request on `counter`; whether it is among the first `times`.
    pub fn fails(&mut self, counter: String, times: u32) -> bool {
        let seen = self.failures.entry(counter).or_default();
        *seen += 1;
        *seen <= times
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn objects_are_created_once_per_key_and_failures_count_down() {
        let mut s = State::default();
        let body = |r: &str| json!({"ref": r}).as_object().unwrap().clone();
        let (a, new) = s.create(body("A"), Some("k1"));
        assert!(new);
        assert_eq!(a["id"], "obj_1");
        assert_eq!(a["state"], "PROCESSING");
        let (again, new) = s.create(body("changed"), Some("k1"));
        assert!(!new);
        assert_eq!(again, a);
        s.create(body("B"), None);
        assert_eq!(s.all().len(), 2);
        assert_eq!(s.by_ref("B").unwrap()["id"], "obj_2");
        assert!(s.get("obj_3").is_none());
        assert!(s.fails("c".into(), 2) && s.fails("c".into(), 2));
        assert!(!s.fails("c".into(), 2));
    }
}
