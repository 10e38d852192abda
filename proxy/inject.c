/* placeholder: being written */
typedef int inject_placeholder_t;
