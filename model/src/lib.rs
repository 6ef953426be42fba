pub fn placeholder_model() {}
