/* std::ios_base_library_init() (GCC 13's libstdc++, GLIBCXX_3.4.32) for an older libstdc++: there the standard
   streams are set up by ios_base::Init objects, so the call has nothing left to do. */
void _ZSt21ios_base_library_initv(void) {}
