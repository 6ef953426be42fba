pub fn placeholder_checker() {}
