/* placeholder: being written */
typedef int listener_placeholder_t;
