//! An insertion-ordered collection of objects by id, as the providers' list endpoints need
//! them (newest first, with `limit` and `offset`).

use std::collections::HashMap;

/// Objects by id, remembering the order they were created in.
#[derive(Debug, Clone)]
pub struct Table<T> {
    items: Vec<Option<(String, T)>>,
    index: HashMap<String, usize>,
    live: usize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            items: Vec::new(),
            index: HashMap::new(),
            live: 0,
        }
    }
}

impl<T> Table<T> {
    /// Adds `value` under `id` (replacing any object with that id).
    pub fn insert(&mut self, id: String, value: T) {
        self.remove(&id);
        self.index.insert(id.clone(), self.items.len());
        self.items.push(Some((id, value)));
        self.live += 1;
    }

    /// The object with `id`.
    pub fn get(&self, id: &str) -> Option<&T> {
        let slot = *self.index.get(id)?;
        self.items[slot].as_ref().map(|(_, v)| v)
    }

    /// The object with `id`, to change it.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let slot = *self.index.get(id)?;
        self.items[slot].as_mut().map(|(_, v)| v)
    }

    /// Removes and returns the object with `id`.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let slot = self.index.remove(id)?;
        self.live -= 1;
        self.items[slot].take().map(|(_, v)| v)
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Every object, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &T> {
        self.items
            .iter()
            .rev()
            .filter_map(|s| s.as_ref().map(|(_, v)| v))
    }

    /// A page of objects, newest first.
    pub fn page(&self, offset: usize, limit: usize) -> impl Iterator<Item = &T> {
        self.newest_first().skip(offset).take(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_newest_first_and_pages() {
        let mut t = Table::default();
        for i in 0..5 {
            t.insert(format!("id{i}"), i);
        }
        assert!(t.remove("id3").is_some());
        assert_eq!(t.len(), 4);
        assert_eq!(t.newest_first().copied().collect::<Vec<_>>(), [4, 2, 1, 0]);
        assert_eq!(t.page(1, 2).copied().collect::<Vec<_>>(), [2, 1]);
        *t.get_mut("id0").unwrap() = 10;
        assert_eq!(t.get("id0"), Some(&10));
        assert_eq!(t.get("id3"), None);
    }
}
