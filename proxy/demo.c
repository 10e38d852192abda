/* placeholder: being written */
typedef int demo_placeholder_t;
