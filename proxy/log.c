/* placeholder: being written */
typedef int log_placeholder_t;
