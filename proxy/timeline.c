/* placeholder: being written */
typedef int timeline_placeholder_t;
